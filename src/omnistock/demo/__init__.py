"""The demo retailer: two warehouses, stores in France's biggest cities, a catalogue, stock,
a few hundred orders in every state of their workflow, some returned, and transfers.

`load_demo` plans everything first, in pure Python and deterministically from a seed, then
writes the retailer in one transaction, from the very files `omnistock demo --export DIR`
writes (`export.files`) and through the import code (`services.imports`), as
`omnistock import` would: its locations, its items, then its opening stock as a snapshot,
a `count` movement for each position (the damaged units unsellable; a store position sold
out before opening is counted 0 and not written), so `omnistock check` stays clean. The
channels and buffer rules go through the channel service.

Then come the orders, through the same services as the API's (`orders.place`,
`fulfilment.act`, `orders.cancel`), fifty to a transaction: web and marketplace orders shipped
to customers across France, click & collect orders, till sales, and what becomes of each:
picked, packed, shipped, delivered, ready, collected or expired, cancelled in whole or in
part, rejected by a location that cannot find an item (and sourced again elsewhere), or
partly backordered because the stock is short. They emit what any order emits.

Some of the orders delivered or collected come back (`returns.take_back`): web parcels to
the store nearest their customer, wherever they were shipped from, or by post to a
warehouse; click & collect orders often to another store; a till sale to its store; a few
units damaged, held unsellable where they come back. Then the transfers
(`transfers.create`, `ship`, `receive`, `cancel`): stores replenished from their nearest
warehouse, slow sellers rebalanced between the warehouses, suppliers' deliveries announced,
returned units a store does not sell sent on to a warehouse; open, in transit (inbound at
their destination, with an ETA), received (a few short or over, the others exact), or
cancelled. Transfers out of a warehouse only take what it holds beyond the orders' share,
so the orders and the transfers never compete for a unit.

Events: what the imports emit, as for any import: `location.created` and `item.created`
(or `*.updated` when they already existed), a `stock.changed` for each position the opening
stock writes (so a consumer reading the feed from the start rebuilds every position) and
the `availability.changed` that follow; then one `demo.loaded` event carries the totals.

Loading is idempotent: when the demo's opening stock is already in the ledger it is not
written again, an order whose external id (`demo-0001`...) is already there is not
placed again, an order that has had units back is not returned again, and a transfer whose
reference (`demo-t001`..., `demo-0042/return`) is there is not made again; when nothing was
written, the summary says so.
"""

from omnistock.demo.geography import City, french_cities
from omnistock.demo.loader import DEMO_REFERENCE, ProgressCallback, RowChecks, load_demo
from omnistock.demo.plan import ORDERS, DemoPlan, plan_demo

__all__ = [
    "DEMO_REFERENCE",
    "ORDERS",
    "City",
    "DemoPlan",
    "ProgressCallback",
    "RowChecks",
    "french_cities",
    "load_demo",
    "plan_demo",
]
