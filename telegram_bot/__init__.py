"""
The Telegram bot: a requester asks for help and follows up by receipt code in
a private chat, and nothing about their Telegram account is ever stored.

`dialogue` holds the conversation as plain code (an update in, replies out);
`memory` keeps a chat's short-lived state in the cache under a keyed hash of
the chat id; `runner` is the thin adapter to the Bot API (aiogram): long
polling or a webhook, and delivery with retries.
"""
