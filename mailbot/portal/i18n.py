"""Every word the portal shows, in Spanish and English; pages follow the desk's language ([desk] language)."""

from __future__ import annotations

from collections.abc import Mapping

from ..desk.models import Priority, State

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "es": {
        "skip": "Saltar al contenido",
        "nav_label": "Secciones del portal",
        "nav_cases": "Mis casos",
        "nav_new": "Nueva solicitud",
        "nav_password": "Cambiar contraseña",
        "nav_logout": "Cerrar sesión",
        "signed_in_as": "Sesión de {email}",
        "hours_title": "Horario de atención",
        "errors_title": "Revise el formulario:",
        "required_mark": "(obligatorio)",
        "login_title": "Iniciar sesión",
        "login_intro": "Ingrese con su dirección de correo y la contraseña que le enviamos por correo.",
        "username": "Nombre de usuario",
        "username_hint": "Su dirección de correo electrónico.",
        "password": "Contraseña",
        "remember": "Recordarme",
        "login_button": "Iniciar sesión",
        "reset_link": "Restablecer contraseña",
        "err_login_wrong": "El usuario o la contraseña no son correctos.",
        "err_login_throttled": "Demasiados intentos fallidos. Espere {minutes} minutos e intente de nuevo.",
        "err_login_throttled_short": "Demasiados intentos fallidos. Espere unos minutos e intente de nuevo.",
        "err_login_expired": "Su contraseña temporal venció. Use «Restablecer contraseña» para recibir otra.",
        "password_title": "Cambiar contraseña",
        "password_forced": "Es la primera vez que ingresa con esta contraseña temporal: elija una contraseña nueva "
                           "para continuar.",
        "current_password": "Contraseña actual",
        "new_password": "Contraseña nueva",
        "new_password_hint": "Al menos {length} caracteres. Una frase fácil de recordar sirve; evite contraseñas "
                             "comunes.",
        "confirm_password": "Repita la contraseña nueva",
        "password_button": "Guardar la contraseña",
        "err_current_wrong": "La contraseña actual no es correcta.",
        "err_too_short": "La contraseña nueva debe tener al menos {length} caracteres.",
        "err_too_long": "La contraseña nueva debe tener como máximo {length} caracteres.",
        "err_common": "Esa contraseña es demasiado común: elija otra.",
        "err_unchanged": "La contraseña nueva debe ser distinta de la actual.",
        "err_is_address": "La contraseña no puede contener su dirección de correo.",
        "err_mismatch": "Las dos contraseñas nuevas no coinciden.",
        "reset_title": "Restablecer contraseña",
        "reset_intro": "Escriba la dirección de correo con la que se comunica con la mesa de ayuda y le enviaremos "
                       "una contraseña temporal. Su contraseña actual deja de servir cuando se envía el correo.",
        "reset_button": "Enviar una contraseña temporal",
        "reset_done": "Si esa dirección tiene un usuario en el portal, en unos minutos recibirá un correo con una "
                      "contraseña temporal, válida por {days} días.",
        "err_reset_throttled": "Demasiadas solicitudes desde su conexión. Intente de nuevo en una hora.",
        "back_to_login": "Volver a iniciar sesión",
        "cases_title": "Mis casos",
        "cases_caption": "Sus casos, del más reciente al más antiguo",
        "filter_state": "Estado",
        "all_states": "Todos",
        "filter_button": "Ver",
        "col_number": "Número",
        "col_subject": "Breve descripción",
        "col_product": "Producto",
        "col_contact": "Contacto",
        "col_account": "Cuenta",
        "col_priority": "Prioridad",
        "col_state": "Estado",
        "col_updated": "Actualizados",
        "no_cases": "No tiene casos todavía. Puede abrir uno en «Nueva solicitud».",
        "no_cases_state": "No tiene casos en este estado.",
        "newer": "Más recientes",
        "older": "Más antiguos",
        "pages_label": "Páginas",
        "case_title": "Caso {number}",
        "case_details": "Datos del caso",
        "service": "Servicio",
        "product": "Producto",
        "report": "Novedad a reportar",
        "contact_hours": "Horario de contacto",
        "phone": "Teléfono de contacto",
        "created": "Abierto",
        "updated": "Actualizado",
        "history": "Historial",
        "entry_customer": "Mensaje de {author}",
        "entry_ack": "Acuse de recibo de {queue}",
        "entry_agent": "Respuesta de {queue}",
        "attachments": "Adjuntos",
        "reply_title": "Responder",
        "reply_label": "Su respuesta",
        "reply_button": "Enviar la respuesta",
        "reply_closed_new": "Este caso está cerrado: su respuesta abrirá un caso nuevo.",
        "reply_closed_reopen": "Este caso está cerrado: su respuesta lo reabrirá.",
        "files_label": "Adjuntar archivos",
        "files_hint": "Hasta {count} archivos, de {size} cada uno como máximo.",
        "err_reply_empty": "Escriba su respuesta o adjunte un archivo.",
        "err_file_too_big": "El archivo «{name}» pesa más de {size}.",
        "err_too_many_files": "Puede adjuntar como máximo {count} archivos.",
        "err_required": "Este campo es obligatorio.",
        "err_field_too_long": "Escriba como máximo {length} caracteres.",
        "err_phone": "Escriba un número de teléfono: dígitos, espacios, +, -, paréntesis y «ext.».",
        "err_queue": "Elija un servicio de la lista.",
        "new_title": "Nueva solicitud",
        "new_intro": "Llene el formulario de solicitud y haga clic en «Enviar». Le enviaremos un acuse de recibo "
                     "con el número de su caso.",
        "choose": "Elija…",
        "f_queue_hint": "Servicio contratado con nosotros.",
        "f_product_hint": "Producto del servicio contratado.",
        "f_report_hint": "Novedad que se presenta con el producto reportado.",
        "f_hours_hint": "Horario en que se requiere ser contactado.",
        "f_phone_hint": "Número de contacto actualizado.",
        "subject": "Asunto",
        "f_subject_hint": "Asunto de la novedad a reportar.",
        "description": "Descripción",
        "f_description_hint": "Descripción de la novedad presentada, con detalles.",
        "new_button": "Enviar",
        "notice_reply_sent": "Su respuesta quedó registrada en el caso.",
        "notice_request_sent": "Registramos su solicitud como el caso {number}. Le enviamos un acuse de recibo "
                               "por correo.",
        "notice_password_changed": "Su contraseña fue cambiada.",
        "notice_logged_out": "Cerró la sesión.",
        "error_title": "Error",
        "error_400": "La solicitud no es válida.",
        "error_403": "La página caducó. Vuelva a cargarla e intente de nuevo.",
        "error_404": "La página o el caso que busca no existe, o no está a su nombre.",
        "error_405": "Esta página no admite esa operación.",
        "error_413": "Lo que envió pesa demasiado (máximo {size}).",
        "error_500": "Algo falló de nuestro lado. Intente de nuevo en unos minutos.",
        "go_home": "Ir a mis casos",
    },
    "en": {
        "skip": "Skip to content",
        "nav_label": "Portal sections",
        "nav_cases": "My cases",
        "nav_new": "New request",
        "nav_password": "Change password",
        "nav_logout": "Log out",
        "signed_in_as": "Signed in as {email}",
        "hours_title": "Opening hours",
        "errors_title": "Please check the form:",
        "required_mark": "(required)",
        "login_title": "Log in",
        "login_intro": "Log in with your e-mail address and the password we sent you by e-mail.",
        "username": "Username",
        "username_hint": "Your e-mail address.",
        "password": "Password",
        "remember": "Remember me",
        "login_button": "Log in",
        "reset_link": "Reset password",
        "err_login_wrong": "The username or the password is wrong.",
        "err_login_throttled": "Too many failed attempts. Wait {minutes} minutes and try again.",
        "err_login_throttled_short": "Too many failed attempts. Wait a few minutes and try again.",
        "err_login_expired": "Your temporary password has expired. Use “Reset password” to get another one.",
        "password_title": "Change password",
        "password_forced": "This is the first time you log in with this temporary password: choose a new password "
                           "to go on.",
        "current_password": "Current password",
        "new_password": "New password",
        "new_password_hint": "At least {length} characters. An easy-to-remember phrase will do; avoid common "
                             "passwords.",
        "confirm_password": "Repeat the new password",
        "password_button": "Save the password",
        "err_current_wrong": "The current password is wrong.",
        "err_too_short": "The new password must have at least {length} characters.",
        "err_too_long": "The new password must have at most {length} characters.",
        "err_common": "That password is too common: choose another one.",
        "err_unchanged": "The new password must differ from the current one.",
        "err_is_address": "The password cannot contain your e-mail address.",
        "err_mismatch": "The two new passwords differ.",
        "reset_title": "Reset password",
        "reset_intro": "Type the e-mail address you write to the help desk from and we will send you a temporary "
                       "password. Your current password stops working when that mail is sent.",
        "reset_button": "Send a temporary password",
        "reset_done": "If that address has a portal user, you will receive a mail with a temporary password in a few "
                      "minutes, valid for {days} days.",
        "err_reset_throttled": "Too many requests from your connection. Try again in an hour.",
        "back_to_login": "Back to log in",
        "cases_title": "My cases",
        "cases_caption": "Your cases, newest first",
        "filter_state": "State",
        "all_states": "All",
        "filter_button": "Show",
        "col_number": "Number",
        "col_subject": "Short description",
        "col_product": "Product",
        "col_contact": "Contact",
        "col_account": "Account",
        "col_priority": "Priority",
        "col_state": "State",
        "col_updated": "Updated",
        "no_cases": "You have no cases yet. You can open one under “New request”.",
        "no_cases_state": "You have no cases in this state.",
        "newer": "Newer",
        "older": "Older",
        "pages_label": "Pages",
        "case_title": "Case {number}",
        "case_details": "Case details",
        "service": "Service",
        "product": "Product",
        "report": "Issue to report",
        "contact_hours": "Contact hours",
        "phone": "Contact phone",
        "created": "Opened",
        "updated": "Updated",
        "history": "History",
        "entry_customer": "Message from {author}",
        "entry_ack": "Acknowledgement from {queue}",
        "entry_agent": "Reply from {queue}",
        "attachments": "Attachments",
        "reply_title": "Reply",
        "reply_label": "Your reply",
        "reply_button": "Send the reply",
        "reply_closed_new": "This case is closed: your reply will open a new case.",
        "reply_closed_reopen": "This case is closed: your reply will reopen it.",
        "files_label": "Attach files",
        "files_hint": "Up to {count} files of at most {size} each.",
        "err_reply_empty": "Write your reply or attach a file.",
        "err_file_too_big": "The file “{name}” is larger than {size}.",
        "err_too_many_files": "You can attach at most {count} files.",
        "err_required": "This field is required.",
        "err_field_too_long": "Write at most {length} characters.",
        "err_phone": "Type a phone number: digits, spaces, +, -, brackets and “ext.”.",
        "err_queue": "Choose a service from the list.",
        "new_title": "New request",
        "new_intro": "Fill in the request form and click “Send”. We will send you an acknowledgement with your case "
                     "number.",
        "choose": "Choose…",
        "f_queue_hint": "The service you have with us.",
        "f_product_hint": "The product of that service.",
        "f_report_hint": "What is happening with that product.",
        "f_hours_hint": "When we should contact you.",
        "f_phone_hint": "A phone number we can reach you at.",
        "subject": "Subject",
        "f_subject_hint": "The subject of what you report.",
        "description": "Description",
        "f_description_hint": "What happened, in detail.",
        "new_button": "Send",
        "notice_reply_sent": "Your reply was added to the case.",
        "notice_request_sent": "We registered your request as case {number} and sent you an acknowledgement by "
                               "e-mail.",
        "notice_password_changed": "Your password was changed.",
        "notice_logged_out": "You logged out.",
        "error_title": "Error",
        "error_400": "The request is not valid.",
        "error_403": "The page has expired. Reload it and try again.",
        "error_404": "The page or case you are looking for does not exist, or is not yours.",
        "error_405": "This page does not allow that.",
        "error_413": "What you sent is too large (at most {size}).",
        "error_500": "Something failed on our side. Try again in a few minutes.",
        "go_home": "Go to my cases",
    },
}
# The desk stores states and priorities by their Spanish value; these are what an English page shows.
STATE_LABELS = {"en": {State.NEW: "New", State.IN_PROGRESS: "In progress", State.ON_HOLD: "On hold",
                       State.RESOLVED: "Resolved", State.CLOSED: "Closed"}}
PRIORITY_LABELS = {"en": {Priority.CRITICAL: "1 - Critical", Priority.HIGH: "2 - High",
                          Priority.MODERATE: "3 - Moderate", Priority.LOW: "4 - Low"}}
DATE_FORMATS = {"es": "%d/%m/%Y %H:%M", "en": "%Y-%m-%d %H:%M"}


class Words:
    """The portal's words in one language: `words("case_title", number="CS0000001")`."""

    def __init__(self, language: str) -> None:
        self.language = language if language in MESSAGES else "es"
        self.messages = MESSAGES[self.language]

    def __call__(self, key: str, **values: object) -> str:
        return self.messages[key].format(**values) if values else self.messages[key]

    def state(self, state: State) -> str:
        return STATE_LABELS.get(self.language, {}).get(state, state.value)

    def priority(self, priority: Priority) -> str:
        return PRIORITY_LABELS.get(self.language, {}).get(priority, priority.value)

    @property
    def date_format(self) -> str:
        return DATE_FORMATS[self.language]


def size_text(size: int) -> str:
    """Bytes as a person reads them, in the units the configuration uses: 20 MB, 512 kB."""
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} B"
