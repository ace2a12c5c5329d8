"""The words of the report hand-off pages, in English and French (plain, for a 10-year-old)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "attached": "The conversation from {provider} is attached ({n} messages). It will be "
                    "sent with your report, so you do not need to copy it.",
        "attached_one": "The conversation from {provider} is attached (1 message). It will be "
                        "sent with your report, so you do not need to copy it.",
        "attached_heading": "Conversation attached",
        "lost": "The conversation from the app could not be attached: the link is no longer "
                "valid. You can still send your report without it, or go back to the app and "
                "press Report again.",
        "gone_unknown_title": "This report link does not work",
        "gone_unknown": "The link may be incomplete or mistyped. You can still make a report "
                        "here: the form will ask you what happened.",
        "gone_expired_title": "This report link has expired",
        "gone_expired": "Report links from chat apps work for a short time only, to keep your "
                        "conversation safe. Go back to the app and press Report again, or make "
                        "a report here without the attached conversation.",
        "gone_used_title": "This report has already been sent",
        "gone_used": "This link was already used to send a report. To add something, use the "
                     "status link shown on your receipt.",
        "gone_elsewhere_title": "This link was opened in another browser",
        "gone_elsewhere": "To keep the conversation private, a report link works in one "
                          "browser only. Carry on in the tab where you first opened it, or go "
                          "back to the app and press Report again.",
        "make_report": "Make a report",
        "danger": "If you or someone else is in danger right now, call your emergency number "
                  "(999 in the UK, 911 in the US and Canada, 000 in Australia, 112 in Europe).",
    },
    "fr": {
        "attached": "La conversation de {provider} est jointe ({n} messages). Elle sera "
                    "envoyée avec votre signalement : vous n’avez pas besoin de la copier.",
        "attached_one": "La conversation de {provider} est jointe (1 message). Elle sera "
                        "envoyée avec votre signalement : vous n’avez pas besoin de la copier.",
        "attached_heading": "Conversation jointe",
        "lost": "La conversation de l’application n’a pas pu être jointe : le lien n’est plus "
                "valable. Vous pouvez envoyer votre signalement sans elle, ou revenir dans "
                "l’application et appuyer de nouveau sur Signaler.",
        "gone_unknown_title": "Ce lien de signalement ne fonctionne pas",
        "gone_unknown": "Le lien est peut-être incomplet ou mal recopié. Vous pouvez quand même "
                        "faire un signalement ici : le formulaire vous demandera ce qui s’est "
                        "passé.",
        "gone_expired_title": "Ce lien de signalement a expiré",
        "gone_expired": "Les liens de signalement des applications de discussion ne marchent "
                        "que peu de temps, pour protéger votre conversation. Revenez dans "
                        "l’application et appuyez de nouveau sur Signaler, ou faites un "
                        "signalement ici sans la conversation jointe.",
        "gone_used_title": "Ce signalement a déjà été envoyé",
        "gone_used": "Ce lien a déjà servi à envoyer un signalement. Pour ajouter quelque "
                     "chose, utilisez le lien de suivi indiqué sur votre accusé de réception.",
        "gone_elsewhere_title": "Ce lien a été ouvert dans un autre navigateur",
        "gone_elsewhere": "Pour garder la conversation privée, un lien de signalement ne marche "
                          "que dans un seul navigateur. Continuez dans l’onglet où vous l’avez "
                          "ouvert la première fois, ou revenez dans l’application et appuyez "
                          "de nouveau sur Signaler.",
        "make_report": "Faire un signalement",
        "danger": "Si vous ou quelqu’un d’autre êtes en danger maintenant, appelez le numéro "
                  "d’urgence (112 en Europe, 999 au Royaume-Uni, 911 aux États-Unis et au "
                  "Canada, 000 en Australie).",
    },
}


def word(lang: str, key: str, **values: object) -> str:
    text = WORDS.get(lang, WORDS["en"]).get(key) or WORDS["en"][key]
    return text.format(**values) if values else text


def attached_notice(lang: str, provider: str | None, messages: int) -> str:
    """"The conversation from <provider> is attached (N messages)"."""
    key = "attached_one" if messages == 1 else "attached"
    fallback = "l’application" if lang == "fr" else "the app"
    return word(lang, key, provider=provider or fallback, n=messages)
