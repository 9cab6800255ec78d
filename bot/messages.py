"""What readers see around the excerpts (Discord and the local chat), in French or English.

An answer speaks the language of its question (`bot.text.guess_language`: French when unsure);
on Discord a command or button answers in the language of the member's client. Admin commands
and the command line's other output stay in English.
"""

from __future__ import annotations

from bot.text import guess_language

_MESSAGES: dict[str, dict[str, str]] = {
    "not_found": {
        "en": "I could not find this in the articles I know.",
        "fr": "Je n'ai pas trouvé de réponse dans les articles que je connais.",
    },
    "no_terms": {
        "en": "The question has no searchable words.",
        "fr": "La question ne contient aucun mot à chercher.",
    },
    "no_match": {
        "en": "None of the question's words appear in the corpus.",
        "fr": "Aucun mot de la question n'apparaît dans les articles.",
    },
    "low_coverage": {
        "en": "The corpus mentions some of these words, but nothing answers the question.",
        "fr": "Les articles mentionnent certains de ces mots, mais rien ne répond à la question.",
    },
    "unsure": {
        "en": "I am not sure these excerpts answer the question: they are about its subject, check them.",
        "fr": "Je ne suis pas sûr que ces extraits répondent à la question : ils en traitent le sujet, "
        "vérifiez-les.",
    },
    "closest": {"en": "Closest articles: {titles}.", "fr": "Articles les plus proches : {titles}."},
    "try_other": {
        "en": "Try other words, or `/article` to browse what the corpus covers.",
        "fr": "Essayez d'autres mots, ou `/article` pour voir ce que couvrent les articles.",
    },
    "summary": {"en": "summary", "fr": "résumé"},
    "answer": {"en": "answer", "fr": "réponse"},
    "helpful": {"en": "Helpful", "fr": "Utile"},
    "not_helpful": {"en": "Not helpful", "fr": "Pas utile"},
    "voted_helpful": {
        "en": "Thanks! Recorded as helpful. You can change your vote with the other button.",
        "fr": "Merci ! Noté comme utile. Vous pouvez changer d'avis avec l'autre bouton.",
    },
    "voted_not_helpful": {
        "en": "Thanks! Recorded as not helpful. You can change your vote with the other button.",
        "fr": "Merci ! Noté comme pas utile. Vous pouvez changer d'avis avec l'autre bouton.",
    },
    "vote_too_old": {
        "en": "This answer is too old to vote on.",
        "fr": "Cette réponse est trop ancienne pour être notée.",
    },
    "vote_failed": {
        "en": "Sorry, I could not record your vote right now; please try again later.",
        "fr": "Désolé, je n'ai pas pu enregistrer votre vote ; réessayez plus tard.",
    },
    "too_long": {
        "en": "Your question is {length:,} characters long; the limit is {limit:,}. Please shorten it.",
        "fr": "Votre question fait {length} caractères ; la limite est de {limit}. Merci de la raccourcir.",
    },
    "too_fast": {
        "en": "You are asking quickly — please try again in {seconds} s.",
        "fr": "Vous posez vos questions très vite : réessayez dans {seconds} s.",
    },
    "ask_me": {
        "en": "Ask me a question about the articles, e.g. "
        "`@Dépêche How many rockets hit Balad?` — or use `/ask`.",
        "fr": "Posez-moi une question sur les articles, par exemple "
        "`@Dépêche Combien de roquettes ont frappé Balad ?` — ou utilisez `/ask`.",
    },
    "loading": {
        "en": "The article index is still loading; please ask again shortly.",
        "fr": "L'index des articles est encore en chargement ; reposez votre question dans un instant.",
    },
    "unavailable": {
        "en": "No articles are available right now: the corpus could not be loaded. "
        "An admin can fix it and use /reload.",
        "fr": "Aucun article n'est disponible pour l'instant : le corpus n'a pas pu être chargé. "
        "Un administrateur peut le corriger puis utiliser /reload.",
    },
    "help_title": {
        "en": "Dépêche — questions about the news, answered with sources",
        "fr": "Dépêche — vos questions sur l'actualité, avec les sources",
    },
    "help": {
        "en": (
            "Ask in French or English; typos and missing accents are fine.\n\n"
            "• **Mention me** with a question, write in an ask-channel, or send me a DM.\n"
            "• **Reply** to one of my answers to ask a follow-up (“Et à Erbil ?”); **edit** your "
            "question and my answer follows, delete it and my answer goes too.\n"
            "• `/ask question` — cited excerpts (add `public:True` to share them).\n"
            "• `/search query` — the best matching sentences with their scores.\n"
            "• `/article name` — an article's source, date, summary and link.\n"
            "• Right-click a message → *Apps* → **Find sources** to check a claim.\n\n"
            "Every excerpt cites its article and paragraph. When the articles do not answer, "
            "I say so instead of guessing."
        ),
        "fr": (
            "Posez vos questions en français ou en anglais ; fautes de frappe et accents oubliés "
            "ne gênent pas.\n\n"
            "• **Mentionnez-moi** avec une question, écrivez dans un salon de questions, ou "
            "envoyez-moi un message privé.\n"
            "• **Répondez** à l'une de mes réponses pour poser une question de suite (« Et à Erbil ? ») ; "
            "**modifiez** votre question et ma réponse suit, supprimez-la et ma réponse part aussi.\n"
            "• `/ask question` — des extraits cités (ajoutez `public:True` pour les partager).\n"
            "• `/search query` — les phrases les plus proches de vos mots, avec leur score.\n"
            "• `/article name` — la source, la date, le résumé et le lien d'un article.\n"
            "• Clic droit sur un message → *Applications* → **Trouver les sources** pour vérifier une "
            "affirmation.\n\n"
            "Chaque extrait cite son article et son paragraphe. Quand les articles ne répondent "
            "pas, je le dis au lieu de deviner."
        ),
    },
    "ask_channels_here": {
        "en": "Channels where every message is a question",
        "fr": "Salons où chaque message est une question",
    },
    "help_footer": {
        "en": "Corpus {version}: {articles} articles, {sentences} sentences",
        "fr": "Corpus {version} : {articles} articles, {sentences} phrases",
    },
    "no_corpus": {"en": "No corpus is loaded right now.", "fr": "Aucun corpus n'est chargé pour l'instant."},
    "answer_failed": {
        "en": "Something went wrong on my side while answering; the admins can find the details in "
        "the bot's log.",
        "fr": "Un problème est survenu de mon côté pendant la réponse ; les admins en trouveront le détail "
        "dans le journal du bot.",
    },
    "command_failed": {
        "en": "Something went wrong on my side; the admins can find the details in the bot's log.",
        "fr": "Un problème est survenu de mon côté ; les admins en trouveront le détail dans le "
        "journal du bot.",
    },
    "no_such_article": {
        "en": "No article is called “{name}”. Pick one from the suggestions while typing.",
        "fr": "Aucun article ne s'appelle « {name} ». Choisissez-en un parmi les suggestions en tapant.",
    },
    "no_text": {
        "en": "That message has no text to look up.",
        "fr": "Ce message n'a pas de texte à chercher.",
    },
    "search_title": {"en": "Search: {query}", "fr": "Recherche : {query}"},
    "no_sentence": {
        "en": "No sentence matches these words.",
        "fr": "Aucune phrase ne correspond à ces mots.",
    },
    "source": {"en": "Source", "fr": "Source"},
    "published": {"en": "Published", "fr": "Publié le"},
    "not_stated": {"en": "not stated", "fr": "non précisé"},
    "sentences": {"en": "Sentences", "fr": "Phrases"},
    "no_summary": {"en": "No summary.", "fr": "Pas de résumé."},
}


_NOT_FOUND_REASONS = ("no_terms", "no_match", "low_coverage")


def text(key: str, language: str, **values: object) -> str:
    """The message `key` in `language` ("fr" or "en"; anything else reads English)."""
    by_language = _MESSAGES[key]
    return by_language.get(language, by_language["en"]).format(**values)


def not_found_reason(reason: str | None, language: str) -> str:
    """Why an answer is "not found" (`bot.search.answer.REASONS`), in words; empty otherwise."""
    return text(reason, language) if reason in _NOT_FOUND_REASONS else ""


def of_question(question: str) -> str:
    """The language to answer a question in."""
    return guess_language(question)


def of_locale(locale: object) -> str:
    """The language of a Discord client locale ("fr", "en-US", ...)."""
    return "fr" if str(getattr(locale, "value", locale)).startswith("fr") else "en"
