"""Every error code fairhall can answer with, in one catalog.

A refusal names an ``ErrorCode`` from this module, never a string:
``raise errors.BOOTH_NOT_FOUND()`` or, with a more precise message for developers,
``raise errors.MESSAGE_TOO_LONG(f"messages are limited to {n} characters")``. Each
code carries its meaning (the docs' error table), the HTTP status where HTTP uses it,
and what people read in the browser in English, French and German (the client loads
those texts from ``GET /api/errors``, so there is one source for them).

The ``message`` of an error reply is for developers and logs (English, often with
details); the ``texts`` are for people. tests/protocol/test_error_catalog.py checks that no
code is written as a literal anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "fr", "de")


@dataclass(frozen=True)
class ErrorCode:
    code: str  # stable, part of the protocol
    status: int | None  # HTTP status; None where only Socket.IO (or the client) uses it
    meaning: str  # when it happens (docs)
    en: str  # what people read
    fr: str
    de: str
    client_only: bool = False  # raised by the browser client itself, never by the server

    def __call__(self, message: str | None = None) -> DomainError:
        return DomainError(self, message)

    def text(self, language: str) -> str:
        return getattr(self, language) if language in LANGUAGES else self.en


class DomainError(Exception):
    """A refused request: a catalog code and a message for developers."""

    def __init__(self, error: ErrorCode, message: str | None = None) -> None:
        if not isinstance(error, ErrorCode):
            raise TypeError("DomainError takes an ErrorCode from rooms.errors")
        self.error = error
        self.message = message or error.en
        super().__init__(self.message)

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def status(self) -> int:
        return self.error.status or 400


CATALOG: dict[str, ErrorCode] = {}


def _define(code: str, status: int | None, meaning: str, *, en: str, fr: str, de: str,
            client_only: bool = False) -> ErrorCode:  # fmt: skip
    if code in CATALOG:
        raise ValueError(f"error code {code} defined twice")
    CATALOG[code] = ErrorCode(code, status, meaning, en, fr, de, client_only)
    return CATALOG[code]


# -- requests and transport ---------------------------------------------------------------
INVALID_PAYLOAD = _define(
    "invalid_payload", 400,
    "the payload or body does not fit: wrong type, missing or unknown field, out of limits, "
    "not one object; also `before` with `since`, exhibitor invites without booths, `ends_at` "
    "not after `starts_at`, fields a role may not edit",
    en="Please check what you entered.",
    fr="Veuillez vérifier votre saisie.",
    de="Bitte prüfen Sie Ihre Eingaben.",
)  # fmt: skip
BAD_REQUEST = _define(
    "bad_request", 400,
    "the packet cannot be read: not valid JSON (`NaN`, truncated), text with a lone UTF-16 "
    "surrogate, binary data, an event that is not `[name, payload]`, or a namespace this "
    "server does not serve",
    en="Your browser sent something the server cannot read. Please reload the page.",
    fr="Votre navigateur a envoyé une demande illisible pour le serveur. Veuillez recharger la page.",
    de="Ihr Browser hat etwas gesendet, das der Server nicht lesen kann. Bitte laden Sie die Seite neu.",
)  # fmt: skip
NESTING_TOO_DEEP = _define(
    "nesting_too_deep", 400,
    "JSON nested deeper than the server reads (arrays or objects inside each other, "
    "hundreds of levels deep)",
    en="Your browser sent something the server cannot read. Please reload the page.",
    fr="Votre navigateur a envoyé une demande illisible pour le serveur. Veuillez recharger la page.",
    de="Ihr Browser hat etwas gesendet, das der Server nicht lesen kann. Bitte laden Sie die Seite neu.",
)  # fmt: skip
INVALID_JSON = _define(
    "invalid_json", 400, "the HTTP body is not valid JSON",
    en="Your browser sent something the server cannot read. Please reload the page.",
    fr="Votre navigateur a envoyé une demande illisible pour le serveur. Veuillez recharger la page.",
    de="Ihr Browser hat etwas gesendet, das der Server nicht lesen kann. Bitte laden Sie die Seite neu.",
)  # fmt: skip
UNSUPPORTED_MEDIA_TYPE = _define(
    "unsupported_media_type", 415,
    "an HTTP body that is not sent as `Content-Type: application/json`",
    en="Your browser sent something the server cannot read. Please reload the page.",
    fr="Votre navigateur a envoyé une demande illisible pour le serveur. Veuillez recharger la page.",
    de="Ihr Browser hat etwas gesendet, das der Server nicht lesen kann. Bitte laden Sie die Seite neu.",
)  # fmt: skip
UNKNOWN_EVENT = _define(
    "unknown_event", None,
    "no client event of that name; also the reserved names `connect`, `disconnect` and `*`",
    en="This page is out of date. Please reload it.",
    fr="Cette page n’est plus à jour. Veuillez la recharger.",
    de="Diese Seite ist nicht mehr aktuell. Bitte laden Sie sie neu.",
)  # fmt: skip
TOO_MANY_REQUESTS = _define(
    "too_many_requests", None,
    "the socket's event budget (`events_per_second`) is spent; any event",
    en="Too many requests at once. Please wait a moment.",
    fr="Trop de demandes à la fois. Veuillez patienter un instant.",
    de="Zu viele Anfragen auf einmal. Bitte warten Sie einen Moment.",
)  # fmt: skip
RATE_LIMITED = _define(
    "rate_limited", 429,
    "the person used up a command's rate class (e.g. `chat`: more than `chat_rate_count` "
    "messages in `chat_rate_window`, all tabs and nodes together); over HTTP, too many "
    "registrations from one address or through one invite (`join_address_rate_count`, "
    "`join_invite_rate_count` per `join_rate_window`)",
    en="You are sending too fast. Please wait a moment.",
    fr="Vous envoyez trop vite. Veuillez patienter un instant.",
    de="Sie senden zu schnell. Bitte warten Sie einen Moment.",
)  # fmt: skip
NOT_CONNECTED = _define(
    "not_connected", None,
    "the socket is not signed in (defensive; a refused socket cannot send events)",
    en="You are not connected. Please reload the page.",
    fr="Vous n’êtes pas connecté. Veuillez recharger la page.",
    de="Sie sind nicht verbunden. Bitte laden Sie die Seite neu.",
)  # fmt: skip
INTERNAL = _define(
    "internal", 500, "unexpected server failure, logged on the server",
    en="The server could not complete this request.",
    fr="Le serveur n’a pas pu traiter cette demande.",
    de="Der Server konnte diese Anfrage nicht ausführen.",
)  # fmt: skip
UNAVAILABLE = _define(
    "unavailable", 503,
    "the server cannot serve this right now: its store (Redis) is out of reach or too busy "
    "to answer in time, or admitting the socket failed. Retry after a short wait; the "
    "bundled client retries a request a few times with growing, jittered delays first",
    en="The server cannot handle this right now. Please try again in a moment.",
    fr="Le serveur ne peut pas traiter cela pour le moment. Veuillez réessayer dans un instant.",
    de="Der Server kann das gerade nicht bearbeiten. Bitte versuchen Sie es gleich noch einmal.",
)  # fmt: skip
TOO_MANY_SOCKETS = _define(
    "too_many_sockets", None,
    "the person has more connections (tabs, devices, all nodes together) than "
    "`max_sockets_per_person`: the oldest is closed with `socket:closing`. A connection is "
    "refused with it while as many of that person's connections wait to be admitted",
    en="This event is open in too many tabs or on too many devices, and a newer one took over from this one. Reload the page to use it here.",
    fr="Cet événement est ouvert dans trop d’onglets ou sur trop d’appareils, et un plus récent a pris le relais de celui-ci. Rechargez la page pour l’utiliser ici.",
    de="Diese Veranstaltung ist in zu vielen Tabs oder auf zu vielen Geräten geöffnet, und eine neuere hat diese abgelöst. Laden Sie die Seite neu, um sie hier zu nutzen.",
)  # fmt: skip
TIMEOUT = _define(
    "timeout", None, "the bundled browser client got no ack within 5 s",
    en="The server did not answer in time. Please try again.",
    fr="Le serveur n’a pas répondu à temps. Veuillez réessayer.",
    de="Der Server hat nicht rechtzeitig geantwortet. Bitte versuchen Sie es erneut.",
    client_only=True,
)  # fmt: skip

# -- HTTP -------------------------------------------------------------------------------------
NOT_FOUND = _define(
    "not_found", 404, "no such route, hall or event",
    en="Not found.", fr="Introuvable.", de="Nicht gefunden.",
)  # fmt: skip
METHOD_NOT_ALLOWED = _define(
    "method_not_allowed", 405, "the route exists but not with this method",
    en="This action is not possible here.",
    fr="Cette action n’est pas possible ici.",
    de="Diese Aktion ist hier nicht möglich.",
)  # fmt: skip
PAYLOAD_TOO_LARGE = _define(
    "payload_too_large", 413, "the body is larger than `max_message_bytes`",
    en="This is too large to send.",
    fr="C’est trop volumineux pour être envoyé.",
    de="Das ist zu groß zum Senden.",
)  # fmt: skip
HTTP_ERROR = _define(
    "http_error", None, "any other HTTP-level error (its status as given)",
    en="Something went wrong. Please try again.",
    fr="Une erreur est survenue. Veuillez réessayer.",
    de="Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
)  # fmt: skip
ENGINE_UNAVAILABLE = _define(
    "engine_unavailable", 503,
    "the engine (Redis) cannot be reached (details only in the server log)",
    en="The server is not ready. Please try again in a moment.",
    fr="Le serveur n’est pas prêt. Veuillez réessayer dans un instant.",
    de="Der Server ist nicht bereit. Bitte versuchen Sie es gleich noch einmal.",
)  # fmt: skip
CLIENT_NOT_INSTALLED = _define(
    "client_not_installed", 503,
    "the bundled browser client's `socket.io-client` files are not installed",
    en="The page is not fully installed on the server (socket.io-client is missing).",
    fr="La page n’est pas entièrement installée sur le serveur (socket.io-client manque).",
    de="Die Seite ist auf dem Server nicht vollständig installiert (socket.io-client fehlt).",
)  # fmt: skip

# -- who you are ------------------------------------------------------------------------------
AUTH_REQUIRED = _define(
    "auth_required", 401,
    "no session token (connect: no `auth.token`; HTTP: no `Authorization: Bearer ...`)",
    en="Please sign in with your invitation link.",
    fr="Veuillez vous connecter avec votre lien d’invitation.",
    de="Bitte melden Sie sich über Ihren Einladungslink an.",
)  # fmt: skip
AUTH_INVALID = _define(
    "auth_invalid", 401,
    "the token is forged, malformed, too long, or its person does not exist",
    en="Your session is no longer valid. Please join again with your invitation link.",
    fr="Votre session n’est plus valable. Veuillez rejoindre à nouveau avec votre lien d’invitation.",
    de="Ihre Sitzung ist nicht mehr gültig. Bitte nehmen Sie über Ihren Einladungslink erneut teil.",
)  # fmt: skip
AUTH_EXPIRED = _define(
    "auth_expired", 401, "the token is older than `token_ttl_hours`",
    en="Your session has expired. Please join again with your invitation link.",
    fr="Votre session a expiré. Veuillez rejoindre à nouveau avec votre lien d’invitation.",
    de="Ihre Sitzung ist abgelaufen. Bitte nehmen Sie über Ihren Einladungslink erneut teil.",
)  # fmt: skip
REMOVED = _define(
    "removed", 403, "the person was removed from the event",
    en="You have been removed from this event by a moderator.",
    fr="Un modérateur vous a exclu de cet événement.",
    de="Ein Moderator hat Sie von dieser Veranstaltung ausgeschlossen.",
)  # fmt: skip
ADMIN_REQUIRED = _define(
    "admin_required", 401, "missing or wrong `X-Admin-Key`",
    en="This needs the server's admin key.",
    fr="Cette action nécessite la clé d’administration du serveur.",
    de="Dafür ist der Admin-Schlüssel des Servers nötig.",
)  # fmt: skip
WRONG_EVENT = _define(
    "wrong_event", 403, "the token belongs to another event than the one in the path",
    en="Your session belongs to another event.",
    fr="Votre session appartient à un autre événement.",
    de="Ihre Sitzung gehört zu einer anderen Veranstaltung.",
)  # fmt: skip
FORBIDDEN = _define(
    "forbidden", 403,
    "your role (or your part in this booth, call or message) does not give the permission "
    "this needs; see the permission matrix",
    en="You are not allowed to do this.",
    fr="Vous n’êtes pas autorisé à faire cela.",
    de="Das dürfen Sie nicht.",
)  # fmt: skip
FORBIDDEN_SELF = _define(
    "forbidden_self", 403, "moderation actions on yourself",
    en="You cannot do this to yourself.",
    fr="Vous ne pouvez pas faire cela à vous-même.",
    de="Das können Sie nicht mit sich selbst tun.",
)  # fmt: skip

# -- invitations ------------------------------------------------------------------------------
INVITE_INVALID = _define(
    "invite_invalid", 404, "no such invite code, or it was revoked",
    en="This invitation link is not valid.",
    fr="Ce lien d’invitation n’est pas valable.",
    de="Dieser Einladungslink ist ungültig.",
)  # fmt: skip
INVITE_EXPIRED = _define(
    "invite_expired", 410, "the invite's `expires_at` has passed",
    en="This invitation link has expired.",
    fr="Ce lien d’invitation a expiré.",
    de="Dieser Einladungslink ist abgelaufen.",
)  # fmt: skip
INVITE_USED_UP = _define(
    "invite_used_up", 410, "the invite reached its `max_uses`",
    en="This invitation link has already been used as often as allowed.",
    fr="Ce lien d’invitation a déjà été utilisé le nombre de fois autorisé.",
    de="Dieser Einladungslink wurde bereits so oft wie erlaubt verwendet.",
)  # fmt: skip

# -- the event's structure ---------------------------------------------------------------------
BOOTH_NOT_FOUND = _define(
    "booth_not_found", 404, "no such booth in this event",
    en="This booth does not exist (any more).",
    fr="Ce stand n’existe pas (ou plus).",
    de="Diesen Stand gibt es nicht (mehr).",
)  # fmt: skip
SESSION_NOT_FOUND = _define(
    "session_not_found", 404, "no such schedule item in this event",
    en="This session does not exist (any more).",
    fr="Cette session n’existe pas (ou plus).",
    de="Diese Sitzung gibt es nicht (mehr).",
)  # fmt: skip
PERSON_NOT_FOUND = _define(
    "person_not_found", 404,
    "no such person in this event (or a removed person, for direct messages and calls)",
    en="This person cannot be found.",
    fr="Cette personne est introuvable.",
    de="Diese Person wurde nicht gefunden.",
)  # fmt: skip
BOOTH_IN_USE = _define(
    "booth_in_use", 409, "a booth that the schedule still refers to cannot be deleted",
    en="The programme still refers to this booth.",
    fr="Le programme fait encore référence à ce stand.",
    de="Das Programm verweist noch auf diesen Stand.",
)  # fmt: skip
HALL_NOT_EMPTY = _define(
    "hall_not_empty", 409, "a hall that still has booths cannot be deleted",
    en="Move or delete the hall’s booths first.",
    fr="Déplacez ou supprimez d’abord les stands de ce hall.",
    de="Verschieben oder löschen Sie zuerst die Stände dieser Halle.",
)  # fmt: skip

# -- chat -----------------------------------------------------------------------------------------
MESSAGE_NOT_FOUND = _define(
    "message_not_found", 404, "no message with that id in that channel",
    en="This message no longer exists.",
    fr="Ce message n’existe plus.",
    de="Diese Nachricht gibt es nicht mehr.",
)  # fmt: skip
BAD_CHANNEL = _define(
    "bad_channel", 400,
    "not a valid channel name (including `dm:` with more than two ids), or a direct message "
    "to yourself",
    en="This conversation does not exist.",
    fr="Cette conversation n’existe pas.",
    de="Diese Unterhaltung gibt es nicht.",
)  # fmt: skip
NOT_IN_BOOTH = _define(
    "not_in_booth", None,
    "enter the booth (`booth:enter`) before chatting there or reading its chat (booth staff, "
    "moderators and organizers may read without entering)",
    en="Enter the booth to chat there.",
    fr="Entrez sur le stand pour y discuter.",
    de="Betreten Sie den Stand, um dort zu chatten.",
)  # fmt: skip
NOT_IN_SESSION = _define(
    "not_in_session", None,
    "enter the session (`session:enter`) before chatting there or reading its chat "
    "(moderators and organizers may read without entering)",
    en="Join the session to chat there.",
    fr="Rejoignez la session pour y discuter.",
    de="Treten Sie der Sitzung bei, um dort zu chatten.",
)  # fmt: skip
MESSAGE_EMPTY = _define(
    "message_empty", None, "the text is only whitespace",
    en="The message is empty.", fr="Le message est vide.", de="Die Nachricht ist leer.",
)  # fmt: skip
MESSAGE_TOO_LONG = _define(
    "message_too_long", None, "the trimmed text is longer than `chat_max_length`",
    en="This message is too long.",
    fr="Ce message est trop long.",
    de="Diese Nachricht ist zu lang.",
)  # fmt: skip
MUTED = _define(
    "muted", None, "you are muted; the message says until when (UTC)",
    en="You are muted and cannot send messages right now.",
    fr="Vous êtes rendu muet et ne pouvez pas envoyer de messages pour le moment.",
    de="Sie sind stummgeschaltet und können gerade keine Nachrichten senden.",
)  # fmt: skip

# -- video calls ----------------------------------------------------------------------------------
ROOM_FULL = _define(
    "room_full", None, "the call has as many members as its capacity",
    en="This call is full. Please try again later.",
    fr="Cet appel est complet. Veuillez réessayer plus tard.",
    de="Dieser Anruf ist voll. Bitte versuchen Sie es später noch einmal.",
)  # fmt: skip
NOT_ADMITTED = _define(
    "not_admitted", 403,
    "a booth's call: knock (`call:knock`) and wait until the staff let you in",
    en="Ask for a call first: the booth’s team will let you in.",
    fr="Demandez d’abord un appel : l’équipe du stand vous fera entrer.",
    de="Bitten Sie zuerst um einen Anruf: Das Standteam lässt Sie dann herein.",
)  # fmt: skip
REMOVED_FROM_CALL = _define(
    "removed_from_call", 403,
    "a host removed you from this call; wait until one admits you again",
    en="A host has removed you from this call.",
    fr="Un hôte vous a retiré(e) de cet appel.",
    de="Ein Gastgeber hat Sie aus diesem Anruf entfernt.",
)  # fmt: skip
NOT_IN_CALL = _define(
    "not_in_call", None, "this socket is not a member of the call",
    en="You are not in this call.",
    fr="Vous n’êtes pas dans cet appel.",
    de="Sie sind nicht in diesem Anruf.",
)  # fmt: skip
NOT_IN_ROOM = _define(
    "not_in_room", None, "the target (`to`, or the person) is not a member of the call",
    en="This person is no longer in the call.",
    fr="Cette personne n’est plus dans l’appel.",
    de="Diese Person ist nicht mehr im Anruf.",
)  # fmt: skip
NOT_KNOCKABLE = _define(
    "not_knockable", None,
    "only a booth's call takes knocks; join meetings and group rooms directly",
    en="You can join this room directly.",
    fr="Vous pouvez rejoindre cette salle directement.",
    de="Sie können diesem Raum direkt beitreten.",
)  # fmt: skip
KNOCK_NOT_FOUND = _define(
    "knock_not_found", 404, "that person is not in the booth's queue",
    en="This person is no longer waiting.",
    fr="Cette personne n’attend plus.",
    de="Diese Person wartet nicht mehr.",
)  # fmt: skip
CALL_NOT_FOUND = _define(
    "call_not_found", 404, "no such meeting or group room (or it was closed)",
    en="This call does not exist (any more).",
    fr="Cet appel n’existe pas (ou plus).",
    de="Diesen Anruf gibt es nicht (mehr).",
)  # fmt: skip

# -- site visits ----------------------------------------------------------------------------------
VISIT_NOT_FOUND = _define(
    "visit_not_found", 404, "no such visit in this event",
    en="This site visit does not exist (any more).",
    fr="Cette visite de site n’existe pas (ou plus).",
    de="Diese Besichtigung gibt es nicht (mehr).",
)  # fmt: skip
VISIT_ENDED = _define(
    "visit_ended", None, "the visit has ended",
    en="This site visit has ended.",
    fr="Cette visite de site est terminée.",
    de="Diese Besichtigung ist beendet.",
)  # fmt: skip
VISIT_NOT_LIVE = _define(
    "visit_not_live", None, "the visit is not live (yet)",
    en="The visit has not started yet.",
    fr="La visite n’a pas encore commencé.",
    de="Die Besichtigung hat noch nicht begonnen.",
)  # fmt: skip
VISIT_LIVE = _define(
    "visit_live", None, "the visit is live with the other kind of source",
    en="This visit is already live with another source.",
    fr="Cette visite est déjà en direct avec une autre source.",
    de="Diese Besichtigung läuft bereits mit einer anderen Quelle.",
)  # fmt: skip
NOT_IN_VISIT = _define(
    "not_in_visit", None, "this socket has not joined the visit (`visit:join`)",
    en="Open the visit first.",
    fr="Ouvrez d’abord la visite.",
    de="Öffnen Sie zuerst die Besichtigung.",
)  # fmt: skip
QUESTION_NOT_FOUND = _define(
    "question_not_found", 404, "no such question in that visit",
    en="This question no longer exists.",
    fr="Cette question n’existe plus.",
    de="Diese Frage gibt es nicht mehr.",
)  # fmt: skip
VISIT_FULL = _define(
    "visit_full", None,
    "the node that hosts the visit's video serves `visit_viewer_cap` viewers already",
    en="This visit has as many viewers as it can take. Please try again in a moment.",
    fr="Cette visite a atteint son nombre maximal de spectateurs. Veuillez réessayer dans un instant.",
    de="Diese Besichtigung hat so viele Zuschauer, wie sie aufnehmen kann. Bitte versuchen Sie es gleich noch einmal.",
)  # fmt: skip
HUB_UNAVAILABLE = _define(
    "hub_unavailable", None,
    "the node that hosts the visit's hub does not answer (it may have stopped)",
    en="The video of this visit is not available right now. Please try again.",
    fr="La vidéo de cette visite n’est pas disponible pour le moment. Veuillez réessayer.",
    de="Das Video dieser Besichtigung ist gerade nicht verfügbar. Bitte versuchen Sie es erneut.",
)  # fmt: skip
MEDIA_UNKNOWN = _define(
    "media_unknown", None, "no media feed of that name in `visit_media`",
    en="This video source is not configured on the server.",
    fr="Cette source vidéo n’est pas configurée sur le serveur.",
    de="Diese Videoquelle ist auf dem Server nicht eingerichtet.",
)  # fmt: skip
MEDIA_FAILED = _define(
    "media_failed", None,
    "the feed cannot be opened, or the offer cannot be answered (no video, no usable codec)",
    en="The video could not be started.",
    fr="La vidéo n’a pas pu démarrer.",
    de="Das Video konnte nicht gestartet werden.",
)  # fmt: skip
MEDIA_UNAVAILABLE = _define(
    "media_unavailable", None, "this server runs without a media hub",
    en="This server does not stream video.",
    fr="Ce serveur ne diffuse pas de vidéo.",
    de="Dieser Server überträgt kein Video.",
)  # fmt: skip


# -- webinars: sessions, speakers, hands, registration (rooms/webinars/) ----------------------
NOT_A_WEBINAR = _define(
    "not_a_webinar", None, "that schedule item is not of kind `webinar`",
    en="This programme entry is not a webinar.",
    fr="Cette entrée du programme n’est pas un webinaire.",
    de="Dieser Programmpunkt ist kein Webinar.",
)  # fmt: skip
NOT_IN_WEBINAR = _define(
    "not_in_webinar", None, "join the webinar (`webinar:join`) first",
    en="Join the webinar first.",
    fr="Rejoignez d’abord le webinaire.",
    de="Treten Sie zuerst dem Webinar bei.",
)  # fmt: skip
WEBINAR_ENDED = _define(
    "webinar_ended", None, "the webinar has ended",
    en="This webinar has ended.",
    fr="Ce webinaire est terminé.",
    de="Dieses Webinar ist beendet.",
)  # fmt: skip
WEBINAR_STATE = _define(
    "webinar_state", None,
    "not possible in the webinar's current state (e.g. going live from `scheduled`, "
    "raising a hand before it is live)",
    en="That is not possible at this point of the webinar.",
    fr="Ce n’est pas possible à ce stade du webinaire.",
    de="Das ist in dieser Phase des Webinars nicht möglich.",
)  # fmt: skip
# (webinar codes above; the helper of the webinar core adds its own here)
SPEAKER_NOT_FOUND = _define(
    "speaker_not_found", None,
    "that person is not an accepted speaker of this webinar (stage, mute), or not a "
    "speaker at all (remove)",
    en="This person is not a speaker of this webinar.",
    fr="Cette personne n’est pas intervenante de ce webinaire.",
    de="Diese Person ist keine Sprecherin bzw. kein Sprecher dieses Webinars.",
)  # fmt: skip
NO_INVITATION = _define(
    "no_invitation", None, "you have no open invitation to speak in this webinar",
    en="You have no open invitation to speak.",
    fr="Vous n’avez pas d’invitation à intervenir en attente.",
    de="Sie haben keine offene Einladung zum Sprechen.",
)  # fmt: skip
HAND_NOT_RAISED = _define(
    "hand_not_raised", None, "that person's hand is not raised (any more)",
    en="This hand is not raised any more.",
    fr="Cette main n’est plus levée.",
    de="Diese Hand ist nicht mehr gehoben.",
)  # fmt: skip

# -- questions, polls and reactions of a webinar (rooms/webinars/qa.py, polls.py, reactions.py) ---
QA_QUESTION_NOT_FOUND = _define(
    "qa_question_not_found", 404,
    "no such question in that webinar (or one you may not see: pending or hidden)",
    en="This question no longer exists.",
    fr="Cette question n’existe plus.",
    de="Diese Frage gibt es nicht mehr.",
)  # fmt: skip
QA_FULL = _define(
    "qa_full", None, "the webinar has `qa_max_questions` questions already",
    en="This webinar takes no more questions.",
    fr="Ce webinaire n’accepte plus de questions.",
    de="Dieses Webinar nimmt keine weiteren Fragen an.",
)  # fmt: skip
POLL_NOT_FOUND = _define(
    "poll_not_found", 404, "no such poll in that webinar (or a draft, for the audience)",
    en="This poll no longer exists.",
    fr="Ce sondage n’existe plus.",
    de="Diese Umfrage gibt es nicht mehr.",
)  # fmt: skip
POLL_STATE = _define(
    "poll_state", None,
    "not possible in the poll's state: editing, opening or deleting a poll that is not a "
    "draft, voting in one that is not open, closing one that is not open",
    en="That is not possible at this point of the poll.",
    fr="Ce n’est pas possible à ce stade du sondage.",
    de="Das ist in dieser Phase der Umfrage nicht möglich.",
)  # fmt: skip
POLL_CHOICE = _define(
    "poll_choice", None,
    "the chosen options do not fit the poll: an index out of range, one twice, or not "
    "exactly one in a single-choice poll",
    en="Please check your choice.",
    fr="Veuillez vérifier votre choix.",
    de="Bitte prüfen Sie Ihre Auswahl.",
)  # fmt: skip
POLL_BALLOT = _define(
    "poll_ballot", None,
    "an anonymous poll: you voted already and changing the vote needs the `ballot` token "
    "your first vote returned (or the token given is not one of this poll's ballots)",
    en="Your vote in this anonymous poll cannot be changed from this device.",
    fr="Votre vote à ce sondage anonyme ne peut pas être modifié depuis cet appareil.",
    de="Ihre Stimme in dieser anonymen Umfrage kann von diesem Gerät aus nicht geändert werden.",
)  # fmt: skip
POLL_FULL = _define(
    "poll_full", None, "the webinar has `poll_max_polls` polls already",
    en="This webinar takes no more polls.",
    fr="Ce webinaire n’accepte plus de sondages.",
    de="Dieses Webinar nimmt keine weiteren Umfragen an.",
)  # fmt: skip

# -- the stage's media (rooms/media/stage*.py) ---------------------------------------------------
STAGE_FULL = _define(
    "stage_full", None,
    "the node that hosts the stage's media serves `visit_viewer_cap` viewers already "
    "(visits and stages together)",
    en="This session has as many viewers as the server can take. Please try again in a moment.",
    fr="Cette session a atteint le nombre maximal de spectateurs du serveur. Veuillez réessayer dans un instant.",
    de="Diese Sitzung hat so viele Zuschauer, wie der Server aufnehmen kann. Bitte versuchen Sie es gleich noch einmal.",
)  # fmt: skip

# -- presence lists, paged (booths, sessions) ----------------------------------------------------
# (their codes here)

# -- chat: idempotent sends (rooms/chat.py) --------------------------------------------------------
CLIENT_ID_REUSED = _define(
    "client_id_reused", 409,
    "`chat:send` with a `client_id` you already used in this channel within "
    "`chat_client_id_window` for a different text: the first message stays as it was, "
    "nothing is stored; use a new `client_id` for each message",
    en="This message could not be sent. Please send it again.",
    fr="Ce message n’a pas pu être envoyé. Veuillez l’envoyer à nouveau.",
    de="Diese Nachricht konnte nicht gesendet werden. Bitte senden Sie sie erneut.",
)  # fmt: skip


def texts(language: str) -> dict[str, str]:
    """code -> what people read, in ``language`` (English for an unknown one)."""
    return {code: error.text(language) for code, error in CATALOG.items()}
