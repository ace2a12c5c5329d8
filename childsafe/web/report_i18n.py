"""The words of the public report pages (page chrome), in every language the flow speaks.

Questions, tips and guidance come translated in the reports data; these are the buttons,
headings and messages the web layer adds around them. A test checks that every key has every
language, so a page never mixes languages.
"""

from __future__ import annotations

from collections.abc import Callable

from childsafe.reports.core.i18n import LANGUAGES, pick_language

UI: dict[str, dict[str, str]] = {
    "site": {"en": "childsafe · report abuse", "fr": "childsafe · signaler un abus"},
    "skip": {"en": "Skip to content", "fr": "Aller au contenu"},
    "lang_switch": {"en": "Français", "fr": "English"},
    "lang_switch_label": {"en": "Lire cette page en français", "fr": "Read this page in English"},
    "footer": {"en": "Reports go to trained child-protection officers. If someone is in danger "
                     "now, call your emergency number.",
               "fr": "Les signalements vont à des agents formés à la protection de l’enfance. "
                     "Si quelqu’un est en danger maintenant, appelez le numéro d’urgence."},
    "nav_tips": {"en": "Safety tips", "fr": "Conseils de sécurité"},
    "nav_capture": {"en": "How to keep the messages", "fr": "Comment garder les messages"},
    "nav_report": {"en": "Make a report", "fr": "Faire un signalement"},
    "next": {"en": "Continue", "fr": "Continuer"},
    "back": {"en": "Back", "fr": "Retour"},
    "optional": {"en": "(optional)", "fr": "(facultatif)"},
    "step_of": {"en": "Question {n}", "fr": "Question {n}"},
    "error_summary": {"en": "There is a problem", "fr": "Il y a un problème"},
    "emergency_heading": {"en": "Get help now", "fr": "Obtenir de l’aide maintenant"},
    "choose_country": {"en": "Choose a country", "fr": "Choisissez un pays"},
    "date_hint": {"en": "For example 2024-05-31. Leave it empty if you don’t know.",
                  "fr": "Par exemple 2024-05-31. Laissez vide si vous ne savez pas."},
    # details
    "details_title": {"en": "About you", "fr": "À propos de vous"},
    "details_intro": {"en": "Reports here are not anonymous. Tell us how an officer can reach "
                            "you.",
                      "fr": "Les signalements ici ne sont pas anonymes. Dites-nous comment un "
                            "agent peut vous joindre."},
    "name": {"en": "Your name", "fr": "Votre nom"},
    "email": {"en": "Email address", "fr": "Adresse e-mail"},
    "email_hint": {"en": "We send a 6-digit code to check it.",
                   "fr": "Nous envoyons un code à 6 chiffres pour la vérifier."},
    "phone": {"en": "Phone number", "fr": "Numéro de téléphone"},
    "phone_hint": {"en": "Give an email address, a phone number, or both.",
                   "fr": "Indiquez une adresse e-mail, un numéro de téléphone, ou les deux."},
    "contact_legend": {"en": "How can we reach you?", "fr": "Comment vous joindre ?"},
    "your_country": {"en": "The country you live in", "fr": "Le pays où vous vivez"},
    "age_band": {"en": "Your age", "fr": "Votre âge"},
    "age_under_13": {"en": "Under 13", "fr": "Moins de 13 ans"},
    "age_13_15": {"en": "13 to 15", "fr": "13 à 15 ans"},
    "age_16_17": {"en": "16 or 17", "fr": "16 ou 17 ans"},
    "age_18_plus": {"en": "18 or over", "fr": "18 ans ou plus"},
    "relationship": {"en": "Who is the child to you?", "fr": "Qui est l’enfant pour vous ?"},
    "rel_self": {"en": "It is about me", "fr": "C’est à propos de moi"},
    "rel_parent_carer": {"en": "My child, or a child I care for",
                         "fr": "Mon enfant, ou un enfant dont je m’occupe"},
    "rel_relative": {"en": "A relative", "fr": "Quelqu’un de ma famille"},
    "rel_friend": {"en": "A friend", "fr": "Un ami ou une amie"},
    "rel_teacher_professional": {"en": "A child I work with (teacher, youth worker…)",
                                 "fr": "Un enfant avec qui je travaille (enseignant, "
                                       "animateur…)"},
    "rel_other": {"en": "Someone else", "fr": "Quelqu’un d’autre"},
    # evidence
    "evidence_title": {"en": "The messages", "fr": "Les messages"},
    "evidence_intro": {"en": "If you can, add the messages. This is optional: you can also add "
                             "them later from your report’s status page.",
                       "fr": "Si vous le pouvez, ajoutez les messages. C’est facultatif : vous "
                             "pourrez aussi les ajouter plus tard depuis la page de suivi."},
    "no_images": {"en": "Never upload sexual pictures of a child, not even to report them. "
                        "Tell us where they are instead.",
                  "fr": "N’envoyez jamais d’images sexuelles d’un enfant, même pour les "
                        "signaler. Dites-nous plutôt où elles se trouvent."},
    "paste_label": {"en": "Paste the messages here", "fr": "Collez les messages ici"},
    "paste_hint": {"en": "Copy the chat and paste it as it is. We keep it exactly as you "
                         "paste it.",
                   "fr": "Copiez la discussion et collez-la telle quelle. Nous la gardons "
                         "exactement comme vous la collez."},
    "files_label": {"en": "Screenshots or files", "fr": "Captures d’écran ou fichiers"},
    "files_hint": {"en": "PNG, JPEG, GIF, PDF or plain text. Up to 20 MB each (text files 2 "
                         "MB). You can choose several.",
                   "fr": "PNG, JPEG, GIF, PDF ou texte. Jusqu’à 20 Mo chacun (fichiers texte "
                         "2 Mo). Vous pouvez en choisir plusieurs."},
    "files_again": {"en": "For your safety, files are not kept when there is a problem: please "
                          "choose them again.",
                    "fr": "Pour votre sécurité, les fichiers ne sont pas gardés en cas de "
                          "problème : merci de les choisir à nouveau."},
    "capture_link": {"en": "How to take screenshots and keep the messages",
                     "fr": "Comment faire des captures d’écran et garder les messages"},
    "check_answers": {"en": "Your answers", "fr": "Vos réponses"},
    "no_answer": {"en": "Not given", "fr": "Non renseigné"},
    "submit": {"en": "Send my report", "fr": "Envoyer mon signalement"},
    "ev_text_too_large": {"en": "The pasted text is too long (at most 200,000 bytes). Put the "
                                "rest in a .txt file.",
                          "fr": "Le texte collé est trop long (200 000 octets au plus). Mettez "
                                "le reste dans un fichier .txt."},
    "ev_text_malformed": {"en": "The pasted text contains characters we cannot accept.",
                          "fr": "Le texte collé contient des caractères que nous ne pouvons "
                                "pas accepter."},
    "ev_too_large": {"en": "“{name}” is too big. Files may be up to 20 MB, text files up to "
                           "2 MB.",
                     "fr": "« {name} » est trop gros. Les fichiers peuvent faire jusqu’à "
                           "20 Mo, les fichiers texte 2 Mo."},
    "ev_unsupported_type": {"en": "“{name}” is not a type we accept. Please use PNG, JPEG, "
                                  "GIF, PDF or plain text.",
                            "fr": "« {name} » n’est pas d’un type accepté. Utilisez PNG, "
                                  "JPEG, GIF, PDF ou texte."},
    "ev_type_mismatch": {"en": "“{name}” is not what its type says it is. Please save it "
                               "again as PNG, JPEG, GIF, PDF or text.",
                         "fr": "« {name} » n’est pas ce que son type annonce. Enregistrez-le "
                               "à nouveau en PNG, JPEG, GIF, PDF ou texte."},
    "ev_malformed": {"en": "“{name}” seems damaged or incomplete. Please save it again.",
                     "fr": "« {name} » semble abîmé ou incomplet. Enregistrez-le à nouveau."},
    "ev_empty": {"en": "“{name}” is empty.", "fr": "« {name} » est vide."},
    "ev_too_many": {"en": "Please add at most {limit} items at a time.",
                    "fr": "Ajoutez au plus {limit} éléments à la fois."},
    "ev_nothing": {"en": "Paste some text or choose a file to add.",
                   "fr": "Collez du texte ou choisissez un fichier à ajouter."},
    "rate_limited": {"en": "Too many reports were sent from here. Please try again later. If "
                           "someone is in danger now, call your emergency number.",
                     "fr": "Trop de signalements ont été envoyés d’ici. Réessayez plus tard. Si "
                           "quelqu’un est en danger maintenant, appelez le numéro d’urgence."},
    # out of scope
    "outcome_where": {"en": "Where to go instead", "fr": "Vers qui vous tourner"},
    "outcome_not_filed": {"en": "No report has been sent.",
                          "fr": "Aucun signalement n’a été envoyé."},
    "start_again": {"en": "Start again", "fr": "Recommencer"},
    # receipt
    "receipt_title": {"en": "Your report has been sent", "fr": "Votre signalement a été envoyé"},
    "reference": {"en": "Your reference", "fr": "Votre référence"},
    "status_link": {"en": "Your private status link", "fr": "Votre lien de suivi privé"},
    "status_link_hint": {"en": "Keep this link safe and don’t share it: anyone with it can see "
                               "the progress of your report and add to it.",
                         "fr": "Gardez ce lien en lieu sûr et ne le partagez pas : toute "
                               "personne qui l’a peut suivre votre signalement et le compléter."},
    "receipt_immediate": {"en": "Because someone may be in danger, your report went straight to "
                                "a child-protection officer.",
                          "fr": "Comme quelqu’un est peut-être en danger, votre signalement est "
                                "parti directement chez un agent de protection de l’enfance."},
    "receipt_verify": {"en": "One more step: we sent a 6-digit code to your email address. Type "
                             "it here (or open the link in the email) so your report reaches "
                             "an officer. Without it, the report is deleted after 72 hours.",
                       "fr": "Encore une étape : nous avons envoyé un code à 6 chiffres à votre "
                             "adresse e-mail. Tapez-le ici (ou ouvrez le lien de l’e-mail) pour "
                             "que votre signalement parvienne à un agent. Sans cela, il est "
                             "supprimé après 72 heures."},
    "code": {"en": "6-digit code", "fr": "Code à 6 chiffres"},
    "confirm": {"en": "Confirm", "fr": "Confirmer"},
    "evidence_received": {"en": "What you sent", "fr": "Ce que vous avez envoyé"},
    "ev_kind_text": {"en": "Pasted messages", "fr": "Messages collés"},
    "ev_kind_file": {"en": "File", "fr": "Fichier"},
    "ev_kind_conversation": {"en": "Conversation from the app",
                             "fr": "Conversation venant de l’application"},
    "bytes": {"en": "{n} bytes", "fr": "{n} octets"},
    "tips_heading": {"en": "Safety tips", "fr": "Conseils de sécurité"},
    # verification results
    "ver_verified_title": {"en": "Thank you, your email is confirmed",
                           "fr": "Merci, votre adresse e-mail est confirmée"},
    "ver_verified": {"en": "Your report is now with a child-protection officer.",
                     "fr": "Votre signalement est maintenant entre les mains d’un agent de "
                           "protection de l’enfance."},
    "ver_wrong_title": {"en": "That code did not work", "fr": "Ce code n’a pas fonctionné"},
    "ver_expired_title": {"en": "The code has expired", "fr": "Le code a expiré"},
    "ver_locked_title": {"en": "Too many tries", "fr": "Trop d’essais"},
    "ver_wrong": {"en": "That code is not right. Please check the email and try again. After 5 "
                        "wrong tries the code stops working.",
                  "fr": "Ce code n’est pas le bon. Vérifiez l’e-mail et réessayez. Après 5 "
                        "essais ratés, le code ne fonctionne plus."},
    "ver_expired": {"en": "The code works for 24 hours and that time has passed. Ask for a new "
                          "code below; if someone is in danger now, call your emergency number.",
                    "fr": "Le code est valable 24 heures et ce délai est passé. Demandez un "
                          "nouveau code ci-dessous ; si quelqu’un est en danger maintenant, "
                          "appelez le numéro d’urgence."},
    "ver_locked": {"en": "The code was typed wrongly too many times and no longer works. Ask "
                         "for a new code below.",
                   "fr": "Le code a été mal tapé trop de fois et ne fonctionne plus. Demandez "
                         "un nouveau code ci-dessous."},
    "ver_resent_title": {"en": "A new code is on its way", "fr": "Un nouveau code est en route"},
    "ver_resent": {"en": "We sent a new code to your email. It works for 24 hours.",
                   "fr": "Nous avons envoyé un nouveau code à votre e-mail. Il est valable "
                         "24 heures."},
    "ver_resend_limited_title": {"en": "Please check your email",
                                 "fr": "Merci de vérifier vos e-mails"},
    "ver_resend_limited": {"en": "We already sent several new codes today. Please check your "
                                 "email, including the spam folder.",
                           "fr": "Nous avons déjà envoyé plusieurs codes aujourd’hui. Vérifiez "
                                 "vos e-mails, y compris les indésirables."},
    "resend": {"en": "Send me a new code", "fr": "M’envoyer un nouveau code"},
    "ver_link_bad": {"en": "This link is not valid, or the report has expired.",
                     "fr": "Ce lien n’est pas valide, ou le signalement a expiré."},
    "ver_no_email": {"en": "This report has no email address to confirm.",
                     "fr": "Ce signalement n’a pas d’adresse e-mail à confirmer."},
    "ver_try_again": {"en": "Try again", "fr": "Réessayer"},
    "go_status": {"en": "See your report’s status", "fr": "Voir le suivi de votre signalement"},
    # status
    "status_title": {"en": "Your report", "fr": "Votre signalement"},
    "state": {"en": "Where it is now", "fr": "Où il en est"},
    "state_awaiting_verification": {"en": "Waiting for you to confirm your email address.",
                                    "fr": "En attente de la confirmation de votre adresse "
                                          "e-mail."},
    "state_with_officers": {"en": "With a child-protection officer.",
                            "fr": "Entre les mains d’un agent de protection de l’enfance."},
    "state_closed": {"en": "Closed. Thank you for telling us.",
                     "fr": "Clos. Merci de nous avoir prévenus."},
    "next_awaiting_verification": {"en": "Type the code from the email below. Then an officer "
                                         "will read your report.",
                                   "fr": "Tapez ci-dessous le code reçu par e-mail. Ensuite, "
                                         "un agent lira votre signalement."},
    "next_with_officers": {"en": "An officer will read your report and may contact you. Advice "
                                 "for you will appear on this page.",
                           "fr": "Un agent va lire votre signalement et pourra vous contacter. "
                                 "Les conseils pour vous apparaîtront sur cette page."},
    "next_closed": {"en": "If something new happens, please make a new report.",
                    "fr": "S’il se passe quelque chose de nouveau, faites un nouveau "
                          "signalement."},
    "what_next": {"en": "What happens next", "fr": "Et ensuite ?"},
    "updates": {"en": "Updates", "fr": "Nouvelles"},
    "no_updates": {"en": "No updates yet.", "fr": "Pas encore de nouvelles."},
    "upd_advice": {"en": "Advice from the officer", "fr": "Conseil de l’agent"},
    "upd_status": {"en": "Status", "fr": "Statut"},
    "upd_reporter_note": {"en": "You added", "fr": "Vous avez ajouté"},
    "status_with_officers": {"en": "Your report reached a child-protection officer.",
                             "fr": "Votre signalement est arrivé chez un agent de protection "
                                   "de l’enfance."},
    "status_closed": {"en": "Your report was closed.", "fr": "Votre signalement a été clos."},
    "status_other": {"en": "Your report was updated.", "fr": "Votre signalement a été mis à "
                                                             "jour."},
    "add_note_title": {"en": "Add information", "fr": "Ajouter des informations"},
    "note_label": {"en": "Anything else the officer should know",
                   "fr": "Ce que l’agent devrait encore savoir"},
    "add_note": {"en": "Add this information", "fr": "Ajouter ces informations"},
    "add_evidence_title": {"en": "Add more messages or files",
                           "fr": "Ajouter des messages ou des fichiers"},
    "add_evidence": {"en": "Add to my report", "fr": "Ajouter à mon signalement"},
    "added_note": {"en": "Thank you. Your information was added.",
                   "fr": "Merci. Vos informations ont été ajoutées."},
    "added_evidence": {"en": "Thank you. It was added to your report.",
                       "fr": "Merci. C’est ajouté à votre signalement."},
    "note_empty": {"en": "Write something to add.", "fr": "Écrivez quelque chose à ajouter."},
    "note_too_long": {"en": "Please keep it under 10,000 bytes.",
                      "fr": "Restez sous 10 000 octets."},
    "closed_no_add": {"en": "This report is closed; please make a new report.",
                      "fr": "Ce signalement est clos ; faites un nouveau signalement."},
    "not_found_title": {"en": "We can’t find that report", "fr": "Signalement introuvable"},
    "not_found": {"en": "The link may be incomplete, or the report expired. Check the link, or "
                        "make a new report.",
                  "fr": "Le lien est peut-être incomplet, ou le signalement a expiré. Vérifiez "
                        "le lien, ou faites un nouveau signalement."},
    "expired_title": {"en": "This form has expired", "fr": "Ce formulaire a expiré"},
    "expired": {"en": "For your safety the form stops working after a while, or it did not come "
                      "from this site. Please start again.",
                "fr": "Pour votre sécurité, le formulaire cesse de fonctionner après un moment, "
                      "ou il ne vient pas de ce site. Merci de recommencer."},
    # guidance and tips
    "tips_title": {"en": "Staying safe online", "fr": "Rester en sécurité en ligne"},
    "tips_for": {"en": "Tips for", "fr": "Conseils pour"},
    "aud_young_person": {"en": "Children and young people", "fr": "Enfants et jeunes"},
    "aud_parent_carer": {"en": "Parents and carers", "fr": "Parents"},
    "aud_other_adult": {"en": "Other adults", "fr": "Autres adultes"},
    "aud_professional": {"en": "People who work with children",
                         "fr": "Professionnels de l’enfance"},
    "report_button": {"en": "Report abuse", "fr": "Signaler un abus"},
    "embed_demo_title": {"en": "ExampleChat (demo host page)",
                         "fr": "ExampleChat (page de démonstration)"},
    "embed_demo_intro": {"en": "This page stands in for a chat app. The “Report abuse” button "
                               "in the corner comes from one script tag.",
                         "fr": "Cette page représente une application de discussion. Le bouton "
                               "« Signaler un abus » dans le coin vient d’une seule balise "
                               "script."},
}


def translator(lang: str) -> Callable[..., str]:
    """`_("key", n=3)` for templates; a missing key is a bug and raises (tests cover all)."""
    chosen = pick_language(lang)

    def _(key: str, **params: object) -> str:
        text = UI[key].get(chosen) or UI[key]["en"]
        return text.format(**params) if params else text

    return _


def missing_translations() -> list[str]:
    return [f"{key}.{lang}" for key, by_lang in UI.items() for lang in LANGUAGES
            if not by_lang.get(lang)]
