"""The file upload flow: files.getUploadURLExternal, the upload URL, files.completeUploadExternal.

This is what slack_sdk's ``files_upload_v2`` does; files.upload itself is retired (see
:data:`~bot.local_slack.validation.RETIRED_METHODS`).
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass, field
from http.client import HTTPMessage
from typing import Any
from urllib.parse import quote

from bot.local_slack.errors import Reply, SlackError, invalid_arguments, text_reply
from bot.local_slack.validation import MAX_TEXT
from bot.local_slack.workspace import Channel, Message, Workspace

MAX_ALT_TXT = 1000
MAX_SNIPPET_BYTES = 1024 * 1024
MAX_SHARE_CHANNELS = 100
_FILE_ENTRY_KEYS = frozenset({"id", "title", "highlight_type"})
# extension -> (Slack filetype, mimetype); anything else is ("binary", "application/octet-stream").
_FILE_TYPES: dict[str, tuple[str, str]] = {
    "txt": ("text", "text/plain"),
    "log": ("text", "text/plain"),
    "md": ("markdown", "text/plain"),
    "markdown": ("markdown", "text/plain"),
    "csv": ("csv", "text/csv"),
    "json": ("json", "application/json"),
    "yaml": ("yaml", "text/plain"),
    "yml": ("yaml", "text/plain"),
    "html": ("html", "text/html"),
    "pdf": ("pdf", "application/pdf"),
    "png": ("png", "image/png"),
    "jpg": ("jpg", "image/jpeg"),
    "jpeg": ("jpg", "image/jpeg"),
    "gif": ("gif", "image/gif"),
}
_MULTIPART_FILE_FIELD = re.compile(rb'(?:^|[;\s])name="?file"?(?:[;\s]|$)', re.IGNORECASE | re.MULTILINE)


@dataclass
class Upload:
    """A file from files.getUploadURLExternal through its upload to files.completeUploadExternal."""

    id: str
    filename: str
    length: int
    created: int
    alt_txt: str | None
    snippet_type: str | None
    content: bytes | None = None  # set by the single successful POST to the upload URL
    title: str = ""
    completed: bool = False
    channels: list[str] = field(default_factory=list)


class FileUploads(Workspace):
    """Uploads from their URL to their completion, shared into channels as bot messages."""

    bot_id: str
    team_id: str
    _uploads: dict[str, Upload]
    _completed_files: list[str]
    _file_seq: int

    @property
    def root_url(self) -> str:  # LocalSlack's: where its HTTP server listens
        raise NotImplementedError

    def files(self) -> list[dict[str, Any]]:
        """Deep copies of the files completed by files.completeUploadExternal, in order of completion.

        Each is ``{"id", "filename", "title", "length", "content", "channels", "alt_txt",
        "snippet_type"}``; ``content`` is the uploaded bytes and ``channels`` the ids shared to
        (empty for a private file).
        """
        with self._lock:
            found = [self._uploads[file_id] for file_id in self._completed_files]
            return [
                {
                    "id": f.id,
                    "filename": f.filename,
                    "title": f.title,
                    "length": f.length,
                    "content": f.content,
                    "channels": list(f.channels),
                    "alt_txt": f.alt_txt,
                    "snippet_type": f.snippet_type,
                }
                for f in found
            ]

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a completed file; KeyError if unknown or not (yet) completed."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or not upload.completed or upload.content is None:
                raise KeyError(file_id)
            return upload.content

    def _handle_upload(self, verb: str, file_id: str, headers: HTTPMessage, body: bytes) -> Reply:
        """An upload URL from files.getUploadURLExternal: one successful POST of exactly ``length`` bytes."""
        if verb != "POST":
            return text_reply(405, "405 Method Not Allowed")
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or upload.content is not None:
                return text_reply(404, "404 Not Found - unknown or already used upload URL")
            try:
                data = _upload_bytes(headers.get("Content-Type", ""), body)
            except ValueError as exc:
                return text_reply(400, f"400 Bad Request - {exc}")
            if len(data) != upload.length:
                return text_reply(400, f"400 Bad Request - got {len(data)} bytes, declared {upload.length}")
            upload.content = data
        return text_reply(200, f"OK - {len(data)}")

    def _api_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        if not filename:
            invalid_arguments("missing required field: filename")
        length = _upload_length(params)
        alt_txt, snippet_type = params.get("alt_txt"), params.get("snippet_type") or None
        if alt_txt is not None and len(alt_txt) > MAX_ALT_TXT:
            raise SlackError("alt_txt_too_large")
        if snippet_type and length > MAX_SNIPPET_BYTES:
            raise SlackError("snippet_too_large")
        self._file_seq += 1
        file_id = f"F{self._file_seq:010d}"
        self._uploads[file_id] = Upload(file_id, filename, length, int(time.time()), alt_txt, snippet_type)
        return {"upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = _file_entries(params.get("files"))
        uploads = [self._uploads.get(entry["id"]) for entry in entries]
        if any(u is None or u.content is None or u.completed for u in uploads):
            raise SlackError("file_not_found")  # never issued, never uploaded, or already completed
        targets = self._share_targets(params)
        comment, thread_ts = params.get("initial_comment") or "", params.get("thread_ts") or None
        if (comment or thread_ts) and not targets:
            invalid_arguments("initial_comment and thread_ts need channel_id or channels")
        if thread_ts is not None:
            if len(targets) != 1:
                invalid_arguments("thread_ts needs exactly one channel")
            self._check_thread(targets[0], thread_ts)
        if len(comment) > MAX_TEXT:
            raise SlackError("msg_too_long")
        completed = [u for u in uploads if u is not None]
        for upload, entry in zip(completed, entries, strict=True):
            upload.title = entry.get("title") or upload.filename
            upload.channels = [chan.id for chan in targets]
            upload.completed = True
            self._completed_files.append(upload.id)
        shared = [self._file_json(upload) for upload in completed]
        for chan in targets:
            files = copy.deepcopy(shared)
            chan.messages.append(
                Message(self._next_ts(), self.bot_user_id, comment, None, thread_ts, files=files)
            )
        return {"files": shared}

    def _share_targets(self, params: dict[str, Any]) -> list[Channel]:
        """Channels from ``channel_id`` or comma-separated ``channels`` (not both); may be empty."""
        channel_id = params.get("channel_id") or None
        listed = [c.strip() for c in (params.get("channels") or "").split(",") if c.strip()]
        if channel_id and listed:
            invalid_arguments("pass channel_id or channels, not both")
        refs = [channel_id] if channel_id else list(dict.fromkeys(listed))
        if len(refs) > MAX_SHARE_CHANNELS:
            raise SlackError("channels_limit_exceeded")
        return [self._share_channel(ref) for ref in refs]

    def _share_channel(self, channel_id: str) -> Channel:
        """A channel (by ID) a file can be shared to: visible, and the bot is a member."""
        chan = self._channels.get(channel_id)
        if chan is None or (chan.is_private and self.bot_user_id not in chan.members):
            raise SlackError("channel_not_found")
        if self.bot_user_id not in chan.members:
            raise SlackError("not_in_channel")
        return chan

    def _file_json(self, upload: Upload) -> dict[str, Any]:
        """A Slack file object for a completed upload."""
        filetype, mimetype = _file_type(upload.filename, upload.snippet_type)
        name = quote(upload.filename, safe="")
        private = f"{self.root_url}/files-pri/{self.team_id}-{upload.id}/{name}"
        shared = [self._channels[c] for c in upload.channels]
        data: dict[str, Any] = {"id": upload.id, "created": upload.created, "timestamp": upload.created}
        data |= {"name": upload.filename, "title": upload.title, "mimetype": mimetype, "filetype": filetype}
        data |= {"pretty_type": filetype.capitalize(), "user": self.bot_user_id, "user_team": self.team_id}
        data |= {"editable": bool(upload.snippet_type), "size": upload.length}
        data |= {"mode": "snippet" if upload.snippet_type else "hosted", "is_external": False}
        data |= {"external_type": "", "is_public": any(not c.is_private for c in shared)}
        data |= {"public_url_shared": False, "display_as_bot": False, "username": ""}
        data |= {"url_private": private, "url_private_download": f"{private}?download=1"}
        data |= {
            "permalink": f"https://fake-workspace.slack.com/files/{self.bot_user_id}/{upload.id}/{name}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{upload.id}",
        }
        data |= {"channels": [c.id for c in shared if not c.is_private]}
        data |= {"groups": [c.id for c in shared if c.is_private], "ims": [], "has_rich_preview": False}
        if upload.alt_txt is not None:
            data["alt_txt"] = upload.alt_txt
        return data


def _upload_length(params: dict[str, Any]) -> int:
    """files.getUploadURLExternal's ``length``: a positive byte count (int in JSON, digits in a form)."""
    raw = params.get("length")
    if raw is None or raw == "":
        invalid_arguments("missing required field: length")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not re.fullmatch(r"\d+", str(raw)):
        invalid_arguments("expected a positive integer for 'length'")
    if int(raw) == 0:
        raise SlackError("missing_argument")  # Slack documents this code for a length of 0
    return int(raw)


def _file_entries(raw: Any) -> list[dict[str, Any]]:
    """Parse files.completeUploadExternal's ``files`` (JSON string or list of {"id", "title"?})."""
    if raw is None or raw == "":
        invalid_arguments("missing required field: files")
    entries = raw
    if isinstance(raw, str):
        try:
            entries = json.loads(raw)
        except ValueError:
            invalid_arguments("files must be valid JSON [json-pointer:/files]")
    if not isinstance(entries, list) or not entries:
        invalid_arguments("must be a non-empty array [json-pointer:/files]")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            invalid_arguments(f"must be an object with a string id [json-pointer:/files/{index}]")
        for name in sorted(set(entry) - _FILE_ENTRY_KEYS):
            invalid_arguments(f"unsupported property '{name}' [json-pointer:/files/{index}/{name}]")
        for name in ("title", "highlight_type"):
            if name in entry and not isinstance(entry[name], str):
                invalid_arguments(f"must be a string [json-pointer:/files/{index}/{name}]")
    ids = [entry["id"] for entry in entries]
    if len(set(ids)) != len(ids):
        invalid_arguments("duplicate file id [json-pointer:/files]")
    return entries


def _upload_bytes(content_type: str, body: bytes) -> bytes:
    """The uploaded file: the raw body, or the ``file`` field of a multipart/form-data body."""
    mime, _, rest = content_type.partition(";")
    if mime.strip().lower() != "multipart/form-data":
        return body
    match = re.search(r'boundary="?([^";]+)"?', rest)
    if match is None:
        raise ValueError("multipart/form-data without a boundary")
    for part in body.split(b"--" + match[1].strip().encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, separator, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator or not content.endswith(b"\r\n"):
            raise ValueError("malformed multipart part")
        if _MULTIPART_FILE_FIELD.search(head):
            return content.removesuffix(b"\r\n")
    raise ValueError("multipart/form-data without a 'file' field")


def _file_type(filename: str, snippet_type: str | None) -> tuple[str, str]:
    """(Slack filetype, mimetype) for a file name; a snippet is text of its snippet_type."""
    if snippet_type:
        return snippet_type, "text/plain"
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return _FILE_TYPES.get(extension, ("binary", "application/octet-stream"))
