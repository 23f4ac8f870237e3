"""
Attachments: photos and documents a requester sends with a request or a
message (issue 24). `clean` makes a clean copy of each file in a child process
(`child`) with limits (nothing of the upload but its pixels survives); `services` checks
the limits, seals the clean images under the key of the request or message
they belong to (encryption.sealing.seal_object) and stores only ciphertext,
padded, under random names, through STORAGES["attachments"].
"""
