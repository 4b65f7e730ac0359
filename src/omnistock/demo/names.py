"""What the demo's customers are called and the streets they live in."""

from __future__ import annotations


def _names(spec: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in spec.split(","))


STREETS = (
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "boulevard Pasteur",
    "rue de la Paix",
    "place du Marché",
    "rue des Écoles",
    "rue du Moulin",
    "avenue de la Gare",
    "rue Nationale",
    "allée des Tilleuls",
    "rue Émile Zola",
    "boulevard Gambetta",
    "avenue Foch",
    "rue de Verdun",
    "impasse des Lilas",
    "chemin des Vignes",
    "rue du Général de Gaulle",
)
FIRST_NAMES = _names(
    "Camille, Léa, Manon, Chloé, Inès, Jade, Louise, Emma, Alice, Lina, Zoé, Sarah, Nina, "
    "Élodie, Sophie, Marie, Céline, Yasmine, Amina, Margaux, Hugo, Lucas, Louis, Gabriel, "
    "Arthur, Jules, Adam, Raphaël, Nathan, Théo, Mathis, Antoine, Julien, Nicolas, Thomas, "
    "Pierre, Karim, Mehdi, Baptiste, Maël"
)
LAST_NAMES = _names(
    "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon, "
    "Laurent, Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier, Morel, "
    "Girard, André, Mercier, Dupont, Lambert, Bonnet, François, Martinez, Nguyen, Benali, "
    "Rousseau, Blanc, Guérin, Muller, Henry, Perrin, Morin, Mathieu, Clément, Gauthier, "
    "Dumont, Lopez, Fontaine, Chevalier, Robin, Da Costa"
)
