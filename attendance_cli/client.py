"""HTTP client of the gateway's API; API errors become ``ApiFailure``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import requests

from attendance_cli import uploads
from attendance_cli.bulk import PHOTO_TYPES


class ApiFailure(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{message} ({code}, HTTP {status})" if status else message)
        self.status, self.code, self.message = status, code, message


def _files(field: str, paths: list[Path]):
    """Multipart parts, each with its photo's content type (by suffix; the API sniffs the bytes)."""
    return [(field, (p.name, p.read_bytes(), PHOTO_TYPES.get(p.suffix.lower(), "application/octet-stream")))
            for p in paths]


class Client:
    def __init__(self, base_url: str, operator: str | None = None, timeout: float = 600,
                 max_request_bytes: int = uploads.DEFAULT_REQUEST_BYTES, token: str | None = None):
        self.base = base_url.rstrip("/")
        self.operator = operator
        self.timeout = timeout
        self.max_request_bytes = max_request_bytes
        self.force_lookalikes = False
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if self.operator:
            headers["X-Operator"] = self.operator
        try:
            resp = self.http.request(method, f"{self.base}/api/v1{path}", timeout=self.timeout, headers=headers, **kw)
        except requests.ConnectionError:
            raise ApiFailure(0, "unreachable", f"cannot reach the gateway at {self.base} (is it running? "
                                               "set --url or ATTENDANCE_URL)") from None
        if resp.status_code == 401:
            raise ApiFailure(401, "unauthorized", "the gateway needs an API token: set ATTENDANCE_TOKEN or --token"
                             + (" (the one given was refused)" if "Authorization" in self.http.headers else ""))
        if resp.status_code >= 400:
            try:
                err = resp.json()["error"]
                raise ApiFailure(resp.status_code, err.get("code", "error"), err.get("message", resp.text))
            except (ValueError, KeyError, TypeError):
                raise ApiFailure(resp.status_code, "error", resp.text.strip() or resp.reason) from None
        return resp

    def json(self, method: str, path: str, **kw):
        resp = self._call(method, path, **kw)
        return resp.json() if resp.content else None

    def text(self, path: str, **kw) -> str:
        return self._call("GET", path, **kw).text

    def _in_batches(self, photos: list[Path],
                    send: Callable[[list[Path]], dict]) -> Iterator[tuple[list[Path], dict | None]]:
        """Send ``photos`` in request-sized groups (see ``uploads``), in order.

        Yields ``(group, answer)``; a group the gateway refuses as too large is
        halved and sent again, and a single photo it refuses yields ``([photo], None)``.
        """
        queue = uploads.batches(photos, self.max_request_bytes)
        while queue:
            group = queue.pop(0)
            try:
                yield group, send(group)
            except ApiFailure as exc:
                if exc.status != 413:
                    raise
                if len(group) > 1:
                    queue[:0] = uploads.halves(group)
                else:
                    yield group, None

    # persons
    def enroll(self, fields: dict, photos: list[Path]) -> dict:
        """Create the person with the first group of photos, add the others in
        further requests; one merged answer, as ``POST /persons`` gives it."""
        created = False

        def send(group: list[Path]) -> dict:
            nonlocal created
            if created:
                return self._post_photos(fields["rollNo"], group)
            body = self.json("POST", "/persons", data={**fields, **self._force()}, files=_files("images", group))
            created = True
            return body

        merged = uploads.merge_enrollments(self._in_batches(photos, send))
        if merged["person"] is None:
            raise ApiFailure(413, "too_large", f"every photo of {fields['rollNo']} is larger than the gateway "
                                               "accepts; nothing was enrolled")
        return merged

    def add_photos(self, roll_no: str, photos: list[Path]) -> dict:
        merged = uploads.merge_enrollments(self._in_batches(photos, lambda group: self._post_photos(roll_no, group)))
        if merged["person"] is None:  # nothing went through: the record as it stands
            merged["person"] = self.json("GET", f"/persons/{roll_no}")
        return merged

    def _post_photos(self, roll_no: str, photos: list[Path]) -> dict:
        return self.json("POST", f"/persons/{roll_no}/images", data=self._force(), files=_files("images", photos))

    def _force(self) -> dict:
        """Enroll photos that look like another enrolled person too (flagged, not refused)."""
        return {"force": "true"} if self.force_lookalikes else {}

    def recognize(self, photo: Path) -> dict:
        return self.json("POST", "/recognize", files=_files("image", [photo]))

    def verify(self, roll_no: str, photo: Path) -> dict:
        return self.json("POST", f"/persons/{roll_no}/verify", files=_files("image", [photo]))

    def checkin(self, session_id: str, photos: list[Path], at: str | None, force: bool) -> dict:
        data = {"force": "true" if force else "false"}
        if at:
            data["at"] = at

        def send(group: list[Path]) -> dict:
            return self.json("POST", f"/sessions/{session_id}/checkins", data=data, files=_files("images", group))

        answers = [answer if answer is not None else
                   {"photos": [{"filename": group[0].name, "error": uploads.TOO_LARGE}]}
                   for group, answer in self._in_batches(photos, send)]
        return uploads.merge_checkins(answers)
