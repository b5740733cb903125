"""HTTP client of the gateway's API; API errors become ``ApiFailure``."""
from __future__ import annotations

from pathlib import Path

import requests


class ApiFailure(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{message} ({code}, HTTP {status})" if status else message)
        self.status, self.code, self.message = status, code, message


def _files(field: str, paths: list[Path]):
    return [(field, (p.name, p.read_bytes(), "image/png" if p.suffix.lower() == ".png" else "image/jpeg"))
            for p in paths]


class Client:
    def __init__(self, base_url: str, operator: str | None = None, timeout: float = 600):
        self.base = base_url.rstrip("/")
        self.operator = operator
        self.timeout = timeout
        self.http = requests.Session()

    def _call(self, method: str, path: str, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if self.operator:
            headers["X-Operator"] = self.operator
        try:
            resp = self.http.request(method, f"{self.base}/api/v1{path}", timeout=self.timeout, headers=headers, **kw)
        except requests.ConnectionError:
            raise ApiFailure(0, "unreachable", f"cannot reach the gateway at {self.base} (is it running? "
                                               "set --url or ATTENDANCE_URL)") from None
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

    # persons
    def enroll(self, fields: dict, photos: list[Path]) -> dict:
        return self.json("POST", "/persons", data=fields, files=_files("images", photos))

    def add_photos(self, roll_no: str, photos: list[Path]) -> dict:
        return self.json("POST", f"/persons/{roll_no}/images", files=_files("images", photos))

    def recognize(self, photo: Path) -> dict:
        return self.json("POST", "/recognize", files=_files("image", [photo]))

    def checkin(self, session_id: str, photos: list[Path], at: str | None, force: bool) -> dict:
        data = {"force": "true" if force else "false"}
        if at:
            data["at"] = at
        return self.json("POST", f"/sessions/{session_id}/checkins", data=data, files=_files("images", photos))
