"""Short user-facing messages of the core (validation errors), in every supported language.

Flow wording lives in the flow data; these are the few strings the code itself produces.
"""

from __future__ import annotations

from childsafe.reports.core.i18n import DEFAULT_LANGUAGE

MESSAGES: dict[str, dict[str, str]] = {
    "required": {"en": "Please answer this question.",
                 "fr": "Merci de répondre à cette question."},
    "choose_one": {"en": "Please choose one of the answers.",
                   "fr": "Merci de choisir une des réponses."},
    "choose_some": {"en": "Please choose one or more of the answers.",
                    "fr": "Merci de choisir une ou plusieurs réponses."},
    "exclusive": {"en": "“{option}” cannot be chosen together with other answers.",
                  "fr": "« {option} » ne peut pas être choisi avec d’autres réponses."},
    "yes_no": {"en": "Please answer yes or no.", "fr": "Merci de répondre oui ou non."},
    "too_long": {"en": "Please use at most {limit} characters.",
                 "fr": "Merci d’utiliser au plus {limit} caractères."},
    "bad_chars": {"en": "This answer contains characters we cannot accept.",
                  "fr": "Cette réponse contient des caractères que nous ne pouvons pas accepter."},
    "date_time": {"en": "Please give a date like 2024-05-31, with a time if you know it.",
                  "fr": "Merci d’indiquer une date comme 2024-05-31, avec l’heure si vous la "
                        "connaissez."},
    "future": {"en": "This date is in the future.", "fr": "Cette date est dans le futur."},
    "too_old": {"en": "This date is too long ago.", "fr": "Cette date est trop ancienne."},
    "country": {"en": "Please choose a country from the list.",
                "fr": "Merci de choisir un pays dans la liste."},
    "not_asked": {"en": "This question was not asked for these answers.",
                  "fr": "Cette question n’a pas été posée pour ces réponses."},
    "unknown_question": {"en": "There is no such question.",
                         "fr": "Cette question n’existe pas."},
    "yes": {"en": "Yes", "fr": "Oui"},
    "no": {"en": "No", "fr": "Non"},
    # reporter identity
    "name": {"en": "Please tell us your name.", "fr": "Merci d’indiquer votre nom."},
    "contact": {"en": "Please give an email address or a phone number so we can reach you.",
                "fr": "Merci d’indiquer une adresse e-mail ou un numéro de téléphone pour que "
                      "nous puissions vous joindre."},
    "email": {"en": "This email address does not look right.",
              "fr": "Cette adresse e-mail ne semble pas correcte."},
    "phone": {"en": "This phone number does not look right for the country you chose.",
              "fr": "Ce numéro de téléphone ne semble pas correct pour le pays choisi."},
    "age_band": {"en": "Please choose your age group.", "fr": "Merci de choisir votre âge."},
    "relationship": {"en": "Please choose how you know the child.",
                     "fr": "Merci de choisir votre lien avec l’enfant."},
    # verification
    "code_wrong": {"en": "That code is not right. Please check it and try again.",
                   "fr": "Ce code n’est pas le bon. Vérifiez-le et réessayez."},
    "code_expired": {"en": "That code has expired. Please ask for a new one.",
                     "fr": "Ce code a expiré. Demandez-en un nouveau."},
    "code_locked": {"en": "Too many tries. Please ask for a new code.",
                    "fr": "Trop d’essais. Demandez un nouveau code."},
}


def message(key: str, lang: str, **params: object) -> str:
    by_lang = MESSAGES[key]
    return (by_lang.get(lang) or by_lang[DEFAULT_LANGUAGE]).format(**params)
