"""
Reading uploaded files in memory only (settings.FILE_UPLOAD_HANDLERS).

Django's default handlers write any upload over 2.5 MB to a temporary file, in
clear, before a view sees it; and its memory handler alone quietly drops every
file of a request larger than FILE_UPLOAD_MAX_MEMORY_SIZE (the form would then
be stored without them). This handler keeps every file in memory, whatever
the request's size, but keeps no more of a file than one byte over the
per-file limit and nothing more once the files together are one byte over the
total: a file's `size` is still its whole size, so the limits are checked,
with a clear message, by intake.attachments.services.check_limits, and memory
stays bounded (ATTACHMENT_MAX_TOTAL + ATTACHMENT_MAX_BYTES per request).
"""

from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers


class MemoryOnlyUploadHandler(FileUploadHandler):
    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.kept_in_all = 0

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.file = BytesIO()
        self.kept = 0
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        room = min(
            settings.ATTACHMENT_MAX_BYTES + 1 - self.kept,
            settings.ATTACHMENT_MAX_TOTAL + 1 - self.kept_in_all,
        )
        if room > 0:
            kept = raw_data[:room]
            self.file.write(kept)
            self.kept += len(kept)
            self.kept_in_all += len(kept)
        # Nothing is passed on: no other handler (none writes to disk) sees it.
        return None

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.file.seek(0)
        return InMemoryUploadedFile(
            file=self.file,
            field_name=self.field_name,
            name="upload",  # the device's file name is never kept, not even here
            content_type="application/octet-stream",
            size=file_size,
            charset=None,
        )
