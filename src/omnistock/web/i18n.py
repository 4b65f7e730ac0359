"""The console in English and French: the words of its pages, and numbers and dates written
as each language writes them (Babel's CLDR data: 1 234,5 in French, 1,234.5 in English).

The language is the browser's (`Accept-Language`) until the person picks one with the
switch, which a cookie remembers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

LANGUAGES = ("en", "fr")
COOKIE = "omnistock_lang"

#: French for each English phrase of the pages (an English page shows the phrase itself).
FRENCH: dict[str, str] = {
    "Sign in": "Se connecter",
    "Sign out": "Se déconnecter",
    "API key": "Clé d'API",
    "Sign in with an API key: an admin, viewer or store key.": (
        "Connectez-vous avec une clé d'API : une clé admin, viewer ou store."
    ),
    "This key is not valid, or it was revoked.": (
        "Cette clé n'est pas valable, ou elle a été révoquée."
    ),
    "An integration key cannot sign in to the console.": (
        "Une clé d'intégration ne peut pas ouvrir la console."
    ),
    "The form expired: send it again.": "Le formulaire a expiré : envoyez-le à nouveau.",
    "Items": "Articles",
    "Search by sku, name or barcode": "Rechercher par sku, nom ou code-barres",
    "Search": "Rechercher",
    "No item matches.": "Aucun article ne correspond.",
    "Next page": "Page suivante",
    "Name": "Nom",
    "Barcode": "Code-barres",
    "Price": "Prix",
    "Stock at every location": "Stock dans chaque lieu",
    "Stock at your locations": "Stock dans vos lieux",
    "Location": "Lieu",
    "On hand": "En stock",
    "Reserved": "Réservé",
    "Unsellable": "Invendable",
    "Inbound": "En route",
    "Available": "Disponible",
    "Total": "Total",
    "No stock anywhere.": "Aucun stock nulle part.",
    "Available to sell, by channel": "Disponible à la vente, par canal",
    "Channel": "Canal",
    "Buffer": "Réserve",
    "Sellable": "Vendable",
    "available \N{MINUS SIGN} buffer = sellable, at each location of the channel's pool": (
        "disponible \N{MINUS SIGN} réserve = vendable, dans chaque lieu du périmètre du canal"
    ),
    "No channel sells from here yet.": "Aucun canal ne vend encore depuis ici.",
    "Not found": "Introuvable",
    "Not allowed": "Non autorisé",
    "This key may not open this page.": "Cette clé ne peut pas ouvrir cette page.",
    "No item has the sku": "Aucun article n'a le sku",
    "Back to the items": "Retour aux articles",
    "Signed in as": "Connecté en tant que",
    "Language": "Langue",
    "Stores": "Magasins",
    "Ledger": "Journal des mouvements",
    "every location": "tous les lieux",
    "Show": "Afficher",
    "When": "Quand",
    "Movement": "Mouvement",
    "No movement.": "Aucun mouvement.",
    "Overview": "Vue d'ensemble",
    "since": "depuis",
    "orders today": "commandes aujourd'hui",
    "the first ones": "les premières",
    "of parcels sent from stores": "des colis envoyés depuis les magasins",
    "shipments per order served": "envois par commande servie",
    "orders waiting for stock": "commandes en attente de stock",
    "pickups waiting": "retraits en attente",
    "Today's orders by channel and status": "Commandes du jour par canal et statut",
    "Orders per hour (UTC)": "Commandes par heure (UTC)",
    "No order yet today.": "Aucune commande aujourd'hui pour l'instant.",
    "Pickups waiting, soonest to expire first": (
        "Retraits en attente, les plus proches de l'expiration d'abord"
    ),
    "Waiting": "En attente depuis",
    "Expires in": "Expire dans",
    "The oldest work not done": "Le travail en attente le plus ancien",
    "Items out of stock, by channel": "Articles en rupture, par canal",
    "Status": "Statut",
    "any": "tous",
    "No order matches.": "Aucune commande ne correspond.",
    "Lines": "Lignes",
    "Backordered": "En reliquat",
    "Cancelled": "Annulé",
    "Fulfilments": "Préparations",
    "None yet: the order waits for stock.": "Aucune pour l'instant : la commande attend du stock.",
    "Why there: the sourcing": "Pourquoi là : le choix des lieux",
    "Verdict": "Verdict",
    "Cost": "Coût",
    "Why": "Pourquoi",
    "Earlier decisions, before a rejection or a healing:": (
        "Décisions antérieures, avant un refus ou une réaffectation :"
    ),
    "Taken over from a hold: no candidates were weighed.": (
        "Reprise d'une réservation : aucun lieu n'a été comparé."
    ),
    "No sourcing decision was recorded.": "Aucune décision de choix des lieux n'a été enregistrée.",
    "History": "Historique",
    "chosen": "choisi",
    "not chosen": "non choisi",
    "no stock": "pas de stock",
    "at capacity": "à pleine capacité",
    "excluded": "exclu",
    "backordered": "en reliquat",
    "partially_allocated": "partiellement affectée",
    "allocated": "affectée",
    "in_progress": "en cours",
    "completed": "terminée",
    "cancelled": "annulée",
    "picked": "prélevée",
    "packed": "emballée",
    "shipped": "expédiée",
    "delivered": "livrée",
    "ready_for_pickup": "prête pour le retrait",
    "collected": "remise",
    "expired": "expirée",
    "rejected": "refusée",
    "Returns desk": "Retours",
    "Order reference or customer e-mail": "Référence de commande ou e-mail du client",
    "Find": "Trouver",
    "Order": "Commande",
    "Customer": "Client",
    "Placed": "Passée le",
    "No order has this reference or e-mail.": "Aucune commande n'a cette référence ou cet e-mail.",
    "No order has the id": "Aucune commande n'a l'id",
    "Taken back at": "Repris à",
    "Item": "Article",
    "Can come back": "Retournable",
    "Unit price": "Prix unitaire",
    "Units back": "Unités reprises",
    "Condition": "État",
    "Here now": "Ici maintenant",
    "unsellable": "invendables",
    "sellable": "vendable",
    "damaged": "abîmé",
    "Refund": "Remboursement",
    "Confirm the return": "Confirmer le retour",
    "See the refund": "Voir le remboursement",
    "Nothing of this order can come back yet.": (
        "Rien de cette commande ne peut revenir pour l'instant."
    ),
    "Taken back": "Repris",
    "Next customer": "Client suivant",
    "Give for each line a number of units up to what can come back.": (
        "Donnez pour chaque ligne un nombre d'unités au plus égal à ce qui peut revenir."
    ),
    "Choose at least one unit to take back.": "Choisissez au moins une unité à reprendre.",
    "Pick list": "Liste de prélèvement",
    "Print": "Imprimer",
    "Units": "Unités",
    "Orders": "Commandes",
    "Everything to pick at this location, item by item, across its orders.": (
        "Tout ce qui est à prélever dans ce lieu, article par article, toutes commandes confondues."
    ),
    "No location has the code": "Aucun lieu n'a le code",
    "Done:": "Fait :",
    "the lines went to": "les lignes sont parties vers",
    "the lines wait for stock (backordered)": "les lignes attendent du stock (en reliquat)",
    "To pick": "À prélever",
    "To pack": "À emballer",
    "To make ready": "À préparer pour le retrait",
    "To ship": "À expédier",
    "Ready for pickup": "Prêt pour le retrait",
    "Nothing waiting.": "Rien en attente.",
    "Carrier": "Transporteur",
    "Tracking": "Suivi",
    "Order reference the customer gives": "Référence de commande donnée par le client",
    "Line not found": "Ligne introuvable",
    "Reason": "Motif",
    "pick": "prélever",
    "pack": "emballer",
    "ship": "expédier",
    "ready": "prêt pour le retrait",
    "collect": "remettre au client",
    "reject": "refuser",
    "Home delivery": "Livraison à domicile",
    "Click & collect": "Retrait en magasin",
    "In store": "Vente en magasin",
    "The reference given is not this order's: nothing was handed over.": (
        "La référence donnée n'est pas celle de cette commande : rien n'a été remis."
    ),
    "Choose the line that cannot be served.": "Choisissez la ligne qui ne peut pas être servie.",
    "Say why the line cannot be served.": "Dites pourquoi la ligne ne peut pas être servie.",
    "warehouse": "entrepôt",
    "store": "magasin",
}


#: English for the few values shown as they are stored (statuses: `ready_for_pickup`).
ENGLISH: dict[str, str] = {
    "partially_allocated": "partially allocated",
    "in_progress": "in progress",
    "ready_for_pickup": "ready for pickup",
}


@dataclass(frozen=True, slots=True)
class Words:
    """The words, numbers and dates of one language."""

    language: str

    def __call__(self, phrase: str) -> str:
        if self.language == "fr":
            return FRENCH.get(phrase, phrase)
        return ENGLISH.get(phrase, phrase)

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=self.language)

    def percent(self, share: float) -> str:
        return format_percent(share, locale=self.language)

    def price(self, value: Decimal | float) -> str:
        """A price, always with its cents (the currency is the order's, not the item's)."""
        return format_decimal(value, format="#,##0.00", locale=self.language)

    def age(self, minutes: int) -> str:
        """How long something has waited: 45 min, 3 h 05, 2 d 4 h."""
        if minutes < 60:
            return f"{minutes} min"
        if minutes < 24 * 60:
            return f"{minutes // 60} h {minutes % 60:02d}"
        days, hours = divmod(minutes // 60, 24)
        return f"{days} {'j' if self.language == 'fr' else 'd'} {hours} h"

    def time(self, value: dt.datetime) -> str:
        return format_datetime(value, format="medium", locale=self.language)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The language of the switch's cookie, else the browser's first we speak, else English."""
    if cookie in LANGUAGES:
        return cookie
    wanted = [
        part.split(";")[0].strip().replace("-", "_") for part in (accept_language or "").split(",")
    ]
    found = Locale.negotiate([w for w in wanted if w], list(LANGUAGES))
    return found.language if found is not None else "en"
