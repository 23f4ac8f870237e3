"""
Everything the bot says, translatable (Russian first). The questions and the
choices are the web form's own (intake/forms.py), so both ask the same thing
in the same words.
"""

from django.utils.translation import gettext_lazy as _

INTRO = _(
    "Hello. Through this bot you can ask our caseworkers for help, and later read "
    "their answers.\n"
    "\n"
    "What is kept: only your answers, encrypted, for the caseworkers. Nothing about "
    "your Telegram account is stored: not your name, username, number or this chat. "
    "Until you press Send, your answers are held encrypted for at most 30 minutes; "
    "/cancel deletes them at once.\n"
    "\n"
    "How to stay safe:\n"
    "• Telegram keeps this chat on your phone and on its servers. When you have your "
    "receipt code, write it down somewhere safe and delete this chat.\n"
    "• If your phone may be checked, use a second Telegram account that is not tied to "
    "your main phone number.\n"
    "• Photos and documents (a summons, a contract, an ID) can be sent after your "
    "story. We keep only a clean copy: the place, the phone, the time and the author "
    "written inside the file are removed. What the picture itself shows stays: cover "
    "faces, numbers and names that are not needed. Do not send voice messages or your "
    "location.\n"
    "\n"
    "English: /lang"
)
HELP = _(
    "/start: ask for help (eight short questions)\n"
    "/status: read our answers with your receipt code, and write to us\n"
    "/cancel: stop and delete your answers\n"
    "/lang: русский / English"
)
UNKNOWN_COMMAND = _("I do not know this command.")
NOTHING_IN_PROGRESS = _("To ask for help, send /start. To read our answers, send /status.")
PRIVATE_ONLY = _(
    "I work only in a private chat. Do not write about your situation here: open a "
    "private chat with me instead."
)
CHOOSE_LANGUAGE = _("Choose a language.")
LANGUAGE_SET = _("From now on I write in English.")
CANCELLED = _("Stopped. Your answers are deleted and nothing was sent. /start begins again.")
EXPIRED = _(
    "This conversation has expired and its answers were deleted. Send /start to begin again "
    "or /status to read our answers."
)
OLD_BUTTON = _("This button is no longer active.")
NOT_TEXT = _(
    "I can only read text, photos and PDF documents. Please do not send stickers, voice "
    "messages, videos or your location: they can give away who and where you are. Delete "
    "that message from this chat."
)
USE_BUTTONS = _("Please choose one of the buttons.")
SLOW_DOWN = _("You are sending messages very fast. Wait a minute, then go on.")
UNAVAILABLE = _(
    "Something went wrong on our side. Your answers are kept: try again in a few minutes."
)

QUESTION_NUMBER = _("Question %(number)s of %(total)s")
ARTICLES_HINT = _("Tick every one that applies, then press Done.")
NO_ARTICLES = _("None of these")
DONE = _("Done")
CONTINUE = _("Continue")
SKIP = _("Skip")
SEVERAL_MESSAGES = _("You can write in several messages.")
NARRATIVE_ADDED = _("Noted. Write more if you want to add something, or press Continue.")
# Followed by the reason, a sentence of its own (intake.forms' plain messages).
NOT_ADDED = _("This part was not added.")
NOT_SAVED = _("This was not saved.")
NOT_GIVEN = _("not given")

SUMMARY_TITLE = _("Please check your request before sending it:")
SUMMARY_SEND_HINT = _("Press Send to pass it to our caseworkers.")
SEND = _("Send")
NOTIFY_QUESTION = _("Tell you here when a caseworker answers?")
NOTIFY_YES = _("Yes: the bot will message you in this chat")
NOTIFY_NO = _("No")
NOTIFY_SAFETY = _(
    "If you say yes, a message from this bot will appear in this chat: "
    "think about who else may see your phone."
)
NOTIFY_TURN_ON = _("Tell me when there is an answer")
NOTIFY_TURN_OFF = _("Do not message me")
START_OVER = _("Start over")
CANCEL = _("Cancel")
SENT_MARK = _("Sent.")

RECEIPT = _(
    "Your request has been passed on to our caseworkers. Your receipt code:\n"
    "\n"
    "%(code)s\n"
    "\n"
    "Write it down somewhere safe, outside Telegram. With it, /status shows our answers "
    "and lets you write to us. It cannot be shown again: we do not keep it. Then delete "
    "this chat."
)
RECEIPT_AGAIN = _(
    "Your last request was stored, but its receipt code may not have reached you. Here it "
    "is again:\n"
    "\n"
    "%(code)s\n"
    "\n"
    "Write it down somewhere safe, outside Telegram, then delete this chat."
)
TOO_MANY_REQUESTS = _(
    "You have sent several requests in a short time. Please try again later; your answers "
    "are kept for 30 minutes."
)
# The overall ceiling: nothing this person did, so nothing to say about them.
BUSY = _(
    "Very many requests are arriving at once just now, so yours was not sent yet. Your "
    "answers are kept for 30 minutes: press Send again in a few minutes."
)
SUBMIT_FAILED = _(
    "Your request could not be sent because of a problem on our side. Nothing was lost: "
    "your answers are kept for 30 minutes. Press Send again in a few minutes."
)
INCOMPLETE = _("Some answers are missing. Send /start to begin again.")

ASK_CODE = _("Send your receipt code: twenty Latin letters and digits.")
NOT_FOUND = _(
    "No request matches this code. Check it character by character: it has Latin letters "
    "and digits only."
)
NO_MESSAGES = _("No messages yet. When a caseworker writes to you, the message appears here.")
KEPT_FOR_CASEWORKERS = _(
    "An earlier message, kept safe for our caseworkers: it appears here again once a "
    "caseworker has opened your request."
)
MESSAGE_SENT = _("Your message was sent.")
MESSAGES_SPENT_TODAY = _(
    "You have sent many messages today, so this one was not sent. Everything you sent "
    "before is kept and a caseworker will read it. You can write again tomorrow."
)
MESSAGES_SPENT = _(
    "This request has reached its limit of messages, so this one was not sent. A "
    "caseworker will read everything you sent before. If you need to tell us something "
    "new, send a new request with /start."
)
TOO_MANY_LOOKUPS = _("You have tried many codes in a short time. Wait an hour and try again.")
LOOKUPS_BUSY = _(
    "Very many codes are being tried on this service just now. Wait a few minutes and try "
    "again; your request is safe."
)
SENT_ON = _("Sent on %(date)s.")
THREAD_TITLE = _("Messages")
FROM_CASEWORKER = _("Caseworker")
FROM_YOU = _("You")
EARLIER_NOT_SHOWN = _("(%(count)s earlier messages are not shown.)")
WRITE = _("Write a message")
ASK_MESSAGE = _("Write your message in one message of at most 5000 characters.")
ASK_CODE_TO_SEND = _(
    "To send it, send your receipt code once more. The bot forgets the code as soon as it "
    "has answered."
)
STATUS_DONE = _("Done. For your safety, delete this chat now.")

# The status page's words for each case state (intake/views.py uses the same).
STATE_WORDS = {
    "new": _("Received. A caseworker will read it soon."),
    "triaged": _("A caseworker has read your request and will contact you."),
    "in_progress": _("We are working on your request."),
    "waiting": _("We are waiting for your answer or your news."),
    "resolved": _(
        "We have done what we could for this request. If you need more help, write to us below."
    ),
    "closed": _(
        "Our work on this request is finished. If you need help again, send a new request."
    ),
    "rejected": _(
        "We could not take up this request. If something has changed, send a new request."
    ),
}

# --- photos and documents ---------------------------------------------------------------

ASK_FILES = _(
    "You can now send photos or documents that show your situation: a summons, a "
    "contract, a military ID, a medical paper, a ticket. Photos (JPEG, PNG, WebP, HEIC) "
    "and PDF files; at most %(files)s files, %(each)s MB each and %(total)s MB together.\n"
    "\n"
    "We keep only a clean copy: the place, the phone, the time and the author written "
    "inside the file are removed, and a PDF is kept as pictures of its pages. What can "
    "be seen in the picture stays, so cover what we do not need.\n"
    "\n"
    "If you have nothing to send, press Skip."
)
FILE_RECEIVED = _("File received (%(count)s of %(files)s).")
MORE_FILES = _("Send more files, or press Done.")
ADDED_TO_SITUATION = _(
    "Noted: this is added to your description of the situation. Send files, or press "
    "Done (Skip if there are none)."
)
CAPTION_ADDED = _("The text you sent with it is added to your description of the situation.")
# Followed by the reason, a sentence of its own.
CAPTION_NOT_ADDED = _("The text you sent with the file was not added.")
# After every refusal: the person must know nothing else was lost.
ANSWERS_KEPT = _("Your other answers and files are kept.")
FILE_TOO_LARGE = _("This file was not accepted: it is larger than %(each)s MB.")
FILES_TOTAL_TOO_LARGE = _(
    "This file was not accepted: all files together may take at most %(total)s MB."
)
TOO_MANY_FILES = _("This file was not accepted: at most %(files)s files can be sent.")
FILE_NOT_RECEIVED = _(
    "This file could not be received from Telegram. Please send it again in a few minutes."
)
FILE_NOT_ACCEPTED = _(
    "This file was not accepted. Send photos (JPEG, PNG, WebP, HEIC) or PDF documents."
)
FILES_BUSY = _(
    "Very many files are arriving just now, so this one was not taken. Please send it "
    "again in a few minutes."
)
FILES_LATER = _(
    "Photos and documents are taken after your description of the situation: there is a "
    "step for them. This file was not kept. Please answer this question first:"
)
FILES_AFTER_WRITE = _(
    "To send a file to our caseworkers, press Write a message first. This file was not kept."
)
FILES_NOT_NOW = _(
    "This file was not kept. To send files to us, send /start (a new request) or /status "
    "(a message about your request)."
)
FILES_WITH_MESSAGE = _(
    "You can also send photos or PDF documents with it: at most %(files)s files, "
    "%(each)s MB each and %(total)s MB together."
)
NOW_WRITE = _(
    "Now write the message that goes with it, or send more files. To send the files "
    "without a message, press Send the files only."
)
FILES_ONLY = _("Send the files only")
FILES_IN_SUMMARY = _("Files: %(count)s")
FILES_LOST = _(
    "Some files you sent were lost when the bot restarted. To add them, press Start over "
    "and send them again, or send the request without them."
)
