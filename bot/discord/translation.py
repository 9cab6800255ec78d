"""French wording of the commands as Discord shows them (descriptions, option help, the message
menu): members whose Discord is in French see the command picker in French. Command and option
names stay as they are, so `/ask` is `/ask` in every guide and screenshot."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Location

# English text as written in the command definitions -> French.
FRENCH: dict[str, str] = {
    # members
    "Ask a question about the articles; get cited excerpts": (
        "Poser une question sur les articles ; réponse en extraits cités"
    ),
    "Your question, in French or English": "Votre question, en français ou en anglais",
    "How many excerpts to show (1-10)": "Nombre d'extraits à montrer (1 à 10)",
    "Show the answer to everyone in the channel (default: only you)": (
        "Montrer la réponse à tout le salon (par défaut : à vous seul)"
    ),
    "List the sentences that best match some words, with scores": (
        "Lister les phrases qui correspondent le mieux à des mots, avec leur score"
    ),
    "Words to look for": "Mots à chercher",
    "Show an article of the corpus: source, date, summary, link": (
        "Afficher un article : source, date, résumé, lien"
    ),
    "Article title (start typing to pick one)": "Titre de l'article (tapez le début pour choisir)",
    "How to ask Dépêche about the news": "Comment interroger Dépêche sur l'actualité",
    "Find sources": "Trouver les sources",
    # admins
    "Re-read the article folder and swap in the new index": (
        "Relire le dossier des articles et servir le nouvel index"
    ),
    "Manage the articles Dépêche answers from (admins)": ("Gérer les articles dont Dépêche se sert (admins)"),
    "Articles, sentences, last reload and corpus version": (
        "Articles, phrases, dernier rechargement et version du corpus"
    ),
    "Add an article from a news link or an uploaded file": (
        "Ajouter un article depuis un lien ou un fichier envoyé"
    ),
    "Link to a news article (http/https)": "Lien vers un article (http/https)",
    "A .md, .txt or .html file": "Un fichier .md, .txt ou .html",
    "Remove an article (kept in corpus/.removed, recoverable)": (
        "Retirer un article (gardé dans corpus/.removed, récupérable)"
    ),
    "Who added or removed which article, and when": "Qui a ajouté ou retiré quel article, et quand",
    "How answers fare, and which questions go unanswered": (
        "Comment les réponses sont jugées, et quelles questions restent sans réponse"
    ),
    "Channels where every message is a question (admins)": (
        "Salons où chaque message est une question (admins)"
    ),
    "Answer every message of a channel (in a forum, every new post)": (
        "Répondre à chaque message d'un salon (dans un forum, à chaque nouveau post)"
    ),
    "A text channel or a forum": "Un salon textuel ou un forum",
    "Stop answering every message of a channel": "Ne plus répondre à chaque message d'un salon",
    "One of the ask-channels": "Un des salons de questions",
    "The channels where every message is a question": "Les salons où chaque message est une question",
    "News feeds Dépêche follows and brings into its articles (admins)": (
        "Flux d'actualité que Dépêche suit et ajoute à ses articles (admins)"
    ),
    "Preview a feed (RSS or Atom), then follow it": "Prévisualiser un flux (RSS ou Atom), puis le suivre",
    "The feed's address (http/https)": "L'adresse du flux (http/https)",
    "Where to announce its new articles (a text or forum channel)": (
        "Où annoncer ses nouveaux articles (un salon textuel ou un forum)"
    ),
    "Minutes between checks (5 to 1440, default 15)": (
        "Minutes entre deux vérifications (5 à 1440, 15 par défaut)"
    ),
    "Stop following a feed (the articles it brought stay)": (
        "Ne plus suivre un flux (les articles qu'il a apportés restent)"
    ),
    "The feed (start typing to pick one)": "Le flux (tapez le début pour choisir)",
    "Each feed: last check, last new item, articles, errors": (
        "Chaque flux : dernière vérification, dernier article, nombre d'articles, erreurs"
    ),
    "Check every feed now instead of at its next turn": (
        "Vérifier tous les flux maintenant, sans attendre leur tour"
    ),
}

_FRENCH_LOCALES = frozenset({discord.Locale.french})
_NAMES = frozenset({Location.command_name, Location.group_name, Location.parameter_name})


class CommandTranslator(app_commands.Translator):
    """French descriptions and message-menu labels from `FRENCH`; English everywhere else."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext,
    ) -> str | None:
        if locale not in _FRENCH_LOCALES:
            return None
        is_menu = isinstance(context.data, app_commands.ContextMenu)
        if context.location in _NAMES and not is_menu:
            return None  # command and option names are the same in every language
        return FRENCH.get(string.message)
