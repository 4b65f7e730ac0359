"""Events: what happened, told to the world outside, always after the change committed.

Holds the event feed (`feed`: the outbox read in order, numbered once safe to hand out);
later the live stream, webhooks with their delivery, and external publishers. The outbox
table and its SQL stay in `omnistock.db.outbox`: events are written there in the same
transaction as the change they tell of.
"""
