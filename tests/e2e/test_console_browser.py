"""The web console in a real browser: Debian's headless Chromium driven by
Selenium against the session's real stack, through a gateway of its own with a
bootstrap admin key (sign-in on).

Every daily task, as an operator does it: sign in; enroll two people of the
5-celebrity set (one from dropped and chosen files, one from the camera — a
fake camera showing a photo of Elton John, enrolled already, so the lookalike
refusal and "Enroll anyway" are exercised); find, edit and export a person;
recognize a photo and find the name drawn; a session with a check-in of several
photos, a near miss confirmed from the review queue (strict thresholds set in
Administration, restored after), a correction, the audit trail, the CSV and the
printable register; a key created, used with its smaller scope (403 explained)
and revoked; a person deleted with their attendance. Then every page at desktop
(1280x900) and phone (390x844) size: axe-core finds no serious or critical
violation, nothing but a table scrolls sideways on the phone, and a full-page
screenshot goes to var/screenshots/. Throughout, the browser logs no
Content-Security-Policy violation and no script error.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from dataset.celebrities import ASSETS_DIR
from launcher.supervisor import ROOT
from tests.e2e.conftest import ROLL_NOS, photos

ADMIN_KEY = "console-admin-" + "5" * 24
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AXE = ASSETS_DIR / "tools" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
MINDY = {"rollNo": "WEB-MINDY", "name": "Mindy Kaling", "fatherName": "Avu Chokalingam", "department": "WEB",
         "contact": "5550100"}
CAMERA = {"rollNo": "WEB-CAM", "name": "Camera Person", "department": "WEB"}
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def as_admin() -> dict:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def thresholds(base: str) -> dict:
    return requests.get(base + "/api/v1/settings/thresholds", headers=as_admin(), timeout=10).json()["thresholds"]


def restore_thresholds(base: str, before: dict, wait: bool = False) -> None:
    """Every model's thresholds as they were (only those changed are set); wait: until every matcher uses them
    (the tests only ever change the model in use, whose threshold the recognize answers give)."""
    for model, now in thresholds(base).items():
        was = before[model]
        if (now["match_threshold"], now["review_floor"]) != (was["match_threshold"], was["review_floor"]):
            resp = requests.put(base + "/api/v1/settings/thresholds", headers=as_admin(), timeout=10, json={
                "model": model, "match_threshold": was["match_threshold"], "review_floor": was["review_floor"]})
            assert resp.status_code == 200, resp.text
            if wait:
                in_force(base, was["match_threshold"], photos("val", "madonna")[0])


def y4m_of(photo: Path, out: Path) -> Path:
    """A fake camera's video (YUV4MPEG2, 4:2:0, a few frames) showing a photo on a grey 640x480 picture."""
    picture = Image.new("RGB", (640, 480), (128, 128, 128))
    face = Image.open(photo).convert("RGB")
    face.thumbnail((480, 480))
    picture.paste(face, ((640 - face.width) // 2, (480 - face.height) // 2))
    y, cb, cr = (np.asarray(p) for p in picture.convert("YCbCr").split())
    half = lambda plane: np.asarray(Image.fromarray(plane).resize((320, 240), Image.Resampling.BOX))  # noqa: E731
    frame = b"FRAME\n" + y.tobytes() + half(cb).tobytes() + half(cr).tobytes()
    out.write_bytes(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n" + frame * 3)
    return out


@pytest.fixture(scope="module")
def console(stack, enrolled, api):
    """A gateway with a bootstrap admin key (the console asks for it). At the end: the test's people are
    erased, the thresholds are as before, every key made is revoked (a key in the database turns
    authentication on for every gateway of that database, the session's too)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists() and AXE.exists()):
        pytest.fail("chromium, chromium-driver or axe-core missing: run scripts/setup.sh")
    gateway = stack.start("gateway-console", "gateway", API_ADMIN_KEY=ADMIN_KEY)
    stack.wait_ready("gateway-console")
    base = gateway.url
    before = thresholds(base)
    yield base
    for person in (MINDY, CAMERA):
        requests.delete(f"{base}/api/v1/persons/{person['rollNo']}?erase_attendance=true", headers=as_admin(), timeout=30)
    restore_thresholds(base, before)
    for key in requests.get(base + "/api/v1/keys", headers=as_admin(), timeout=10).json()["keys"]:
        if not key["revoked_at"]:
            requests.delete(f"{base}/api/v1/keys/{key['name']}", headers=as_admin(), timeout=10)
    stack.retire("gateway-console")
    deadline = time.time() + 10
    while requests.get(api.url("/me"), timeout=10).status_code != 200 and time.time() < deadline:
        time.sleep(0.5)


@pytest.fixture(scope="module")
def downloads():
    with tempfile.TemporaryDirectory(prefix="console-downloads-") as folder:
        yield Path(folder)


@pytest.fixture(scope="module")
def browser(console, downloads):
    """Headless Chromium on the console's page, its camera a fake one showing a photo of Elton John."""
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    camera = y4m_of(photos("val", "elton_john")[0], Path(profile) / "camera.y4m")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}", f"--use-file-for-fake-video-capture={camera}", "--window-size=1280,900"]:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.set_script_timeout(60)
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        viewport(driver, "desktop")
        driver.get(console + "/")
        yield driver
        check_log(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(autouse=True)
def picture_on_failure(request):
    """A failed test leaves a screenshot of the browser: var/screenshots/failure-<test>.png."""
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed and "browser" in request.fixturenames:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        request.getfixturevalue("browser").save_screenshot(str(SCREENSHOTS / f"failure-{request.node.name}.png"))


# -- helpers -------------------------------------------------------------------------------------------------
def wait(driver, condition, timeout=30, what="the page"):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d), message=f"waiting for {what}")


def find(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def text(driver, selector) -> str:
    try:
        return find(driver, selector).text
    except WebDriverException:
        return ""


def wait_text(driver, selector, *parts, timeout=30) -> str:
    """Wait until the element's text holds every part; returns the text."""
    wait(driver, lambda d: all(p in text(d, selector) for p in parts), timeout, f"{parts} in {selector}")
    return text(driver, selector)


def visible(driver, selector) -> bool:
    try:
        return find(driver, selector).is_displayed()
    except WebDriverException:
        return False


def go(driver, page):
    """Another page of the console (the hash names it; the tab keeps its state, like an operator's clicks)."""
    driver.execute_script("location.hash = arguments[0]", page)
    wait(driver, lambda d: visible(d, f"section[data-page='{page.split('/')[0]}']"), what=f"page {page}")


def fill(driver, selector, value):
    field = find(driver, selector)
    field.clear()
    field.send_keys(value)


def click(driver, selector):
    """Click an element (found again if the page re-rendered it meanwhile)."""
    for attempt in range(3):
        try:
            element = find(driver, selector)
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            element.click()
            return
        except StaleElementReferenceException:
            if attempt == 2:
                raise


def answer_dialog(driver, reason=None, checks=(), ok=True):
    """Answer the console's question dialog (reason, check boxes), then confirm or cancel."""
    wait(driver, lambda d: visible(d, "#ask-dialog"), what="the question dialog")
    if reason is not None:
        fill(driver, "#ask-dialog input[name=reason]", reason)
    for name in checks:
        click(driver, f"#ask-dialog input[name={name}]")
    click(driver, "#ask-ok" if ok else "#ask-cancel")
    wait(driver, lambda d: not visible(d, "#ask-dialog"), what="the dialog to close")


def drop(driver, zone_selector, photo: Path):
    """Drag and drop a photo file onto a drop zone (a DataTransfer with the file, as a browser makes one)."""
    driver.execute_script("""
        const [b64, name, selector] = arguments;
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name, {type: "image/jpeg"}));
        const zone = document.querySelector(selector);
        for (const type of ["dragenter", "dragover", "drop"]) {
          zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
        }""", base64.b64encode(photo.read_bytes()).decode(), photo.name, zone_selector)


def choose(driver, picker, paths):
    find(driver, f"#{picker} input[type=file]").send_keys("\n".join(str(p) for p in paths))


def downloaded(folder: Path, suffix: str, timeout=30) -> Path:
    def done(_):
        found = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        return found[0] if found else None
    return WebDriverWait(None, timeout, poll_frequency=0.1).until(done, message=f"a downloaded {suffix} file")


def viewport(driver, size):
    width, height = SIZES[size]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": size == "phone"})


def check_log(driver):
    """No Content-Security-Policy violation and no script error in the browser's console."""
    bad = [e["message"] for e in driver.get_log("browser")
           if any(w in e["message"] for w in ("Content Security Policy", "Content-Security-Policy", "Uncaught",
                                              "TypeError", "SyntaxError", "ReferenceError"))]
    assert not bad, bad


AXE_FOUND: dict[str, list[dict]] = {}  # violations by page and state, for the last test's summary


def axe_check(driver, name):
    """axe-core on the page as it is now: no serious or critical violation (all are kept for the summary)."""
    if not driver.execute_script("return typeof axe !== 'undefined'"):
        driver.execute_script(AXE.read_text())
    found = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ["violations"]})
           .then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                                       nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5)}))))
           .catch((e) => done({error: String(e)}));""")
    assert not isinstance(found, dict), found
    AXE_FOUND[name] = found
    serious = [(v["id"], v["impact"], v["nodes"]) for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, (name, serious)


def in_force(base, threshold, photo):
    """Wait until every matcher uses a new match threshold (a change reaches them within a second or so): the
    recognize answers, which go round the matchers, say it four times running."""
    running = []

    def said(_):
        faces = requests.post(base + "/api/v1/recognize", headers=as_admin(), timeout=30,
                              files={"image": (photo.name, photo.read_bytes(), "image/jpeg")}).json()["faces"]
        running.append(bool(faces) and faces[0].get("threshold") == threshold)
        return len(running) >= 4 and all(running[-4:])
    WebDriverWait(None, 30, poll_frequency=0.05).until(said, message=f"the threshold {threshold} on every matcher")


def sign_in(driver, key):
    wait(driver, lambda d: visible(d, "#signin"), what="the sign-in box")
    fill(driver, "#signin-form input[name=token]", key)
    click(driver, "#signin-form button[type=submit]")


def sign_out(driver):
    click(driver, "#signout")
    wait(driver, lambda d: visible(d, "#signin"), what="the sign-in box")


# -- the tasks -----------------------------------------------------------------------------------------------
def test_sign_in_asks_for_a_key_and_keeps_it_in_the_tab_only(browser):
    sign_in(browser, "not-a-key-" + "0" * 20)
    wait_text(browser, "#signin-message", "this key was refused")
    sign_in(browser, ADMIN_KEY)
    wait_text(browser, "#auth-status", "Signed in as bootstrap-admin", "(admin)")
    assert not visible(browser, "#signin")
    caption = wait_text(browser, "#persons-caption", "Showing 1–4 of 4 people")
    assert caption and visible(browser, "#nav-admin")
    assert browser.execute_script("return sessionStorage.getItem('console.token')") == ADMIN_KEY
    assert ADMIN_KEY not in json.dumps(browser.execute_script("return Object.assign({}, localStorage)"))


def test_enroll_from_dropped_and_chosen_files(browser):
    go(browser, "enroll")
    for field, value in MINDY.items():
        fill(browser, f"#enroll-form input[name={field}]", value)
    train = photos("train", "mindy_kaling")
    drop(browser, "#enroll-picker .drop", train[0])
    choose(browser, "enroll-picker", train[1:4])
    wait_text(browser, "#enroll-picker .picker-count", "4 photo(s) chosen")
    click(browser, "#enroll-form button[type=submit]")
    heading = wait_text(browser, "#enroll-result h3", "Enrolled WEB-MINDY")
    accepted = browser.find_elements(By.CSS_SELECTOR, "#enroll-result li.accepted")
    assert len(accepted) >= 2 and f"{len(accepted)} of 4 photos accepted" in heading, heading
    assert text(browser, "#enroll-picker .picker-count").startswith("No photo chosen")


def test_enroll_from_the_camera_a_lookalike_then_anyway(browser):
    go(browser, "enroll")
    for field, value in CAMERA.items():
        fill(browser, f"#enroll-form input[name={field}]", value)
    click(browser, "#enroll-picker .drop button")
    wait(browser, lambda d: find(d, "#camera-take").is_enabled(), what="the camera")
    click(browser, "#camera-take")
    wait_text(browser, "#camera-message", "1 photo(s) taken")
    click(browser, "#camera-done")
    wait_text(browser, "#enroll-picker .picker-count", "1 photo(s) chosen")
    click(browser, "#enroll-form button[type=submit]")
    refused = wait_text(browser, "#enroll-result li.refused", "Looks like Elton John (CEL002)")
    assert "0 of 1 photos accepted" in text(browser, "#enroll-result h3"), refused
    axe_check(browser, "enroll-lookalike-desktop")  # the refusal, with its button
    full_page_screenshot(browser, "desktop", SCREENSHOTS / "enroll-lookalike-desktop.png")
    click(browser, "#enroll-result li.refused button")
    wait_text(browser, "#enroll-result li.accepted", "enrolled although it looks like Elton John")
    assert "1 photo(s) enrolled now" in text(browser, "#enroll-result h3")


def test_find_edit_and_export_a_person(browser, downloads):
    go(browser, "people")
    fill(browser, "#people-search input[name=q]", "kaling")
    wait_text(browser, "#persons-caption", "Showing 1–1 of 1 matching")
    click(browser, "#persons-body a")
    wait_text(browser, "#person-title", "Mindy Kaling (WEB-MINDY)")
    details = wait_text(browser, "#person-details", "Photos")
    assert "Avu Chokalingam" in details
    wait_text(browser, "#history-summary", "0 session(s)")

    click(browser, "#person-edit")
    fill(browser, "#edit-form input[name=contact]", "5550111")
    click(browser, "#edit-form button[type=submit]")
    wait_text(browser, "#person-message", "Saved the changes to WEB-MINDY")
    assert "5550111" in text(browser, "#person-details")

    click(browser, "#person-export")
    wait_text(browser, "#person-message", "Saved WEB-MINDY-export.json")
    exported = json.loads(downloaded(downloads, "-export.json").read_text())
    assert exported["person"]["rollNo"] == "WEB-MINDY" and exported["person"]["contact"] == "5550111"
    assert len(exported["faces"]) >= 2 and all(len(f["vector"]) > 0 for f in exported["faces"])


def test_recognize_draws_each_face_with_its_name(browser):
    go(browser, "recognize")
    choose(browser, "recognize-picker", [photos("val", "mindy_kaling")[0]])
    click(browser, "#recognize-form button[type=submit]")
    wait_text(browser, "#recognize-result .face .face-name", "Mindy Kaling")
    summary = text(browser, "#recognize-result p.tally")
    assert "1 recognized" in summary and "#1 Mindy Kaling" in summary, summary
    canvas = find(browser, "#recognize-result canvas")
    assert "Mindy Kaling" in canvas.get_attribute("aria-label")
    # The box's outline on the photo is green (recognized): a pixel on its left edge, half-way down.
    x, y, w, h = (int(v) for v in find(browser, "#recognize-result li.face").get_attribute("data-box").split(","))
    r, g, b = browser.execute_script(
        "const [c, x, y] = arguments; return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));",
        canvas, x, y + h // 2)
    assert g > 100 and r < 80 and b < 100, (r, g, b)


def test_session_checkin_review_corrections_and_reports(browser, console, downloads):
    go(browser, "attendance")
    fill(browser, "#session-form input[name=name]", "Console lecture")
    fill(browser, "#session-form input[name=department]", "CEL")
    click(browser, "#session-form button[type=submit]")
    wait_text(browser, "#session-result", "Created Console lecture — 4 person(s) on the roster")
    wait_text(browser, "#panel-title", "Session: Console lecture")

    # Several photos at once: one request each, a progress bar, the counts following. Ben Afflek is in two.
    batch = [photos("val", "ben_afflek")[0], photos("val", "jerry_seinfeld")[0], photos("val", "ben_afflek")[1]]
    choose(browser, "checkin-picker", batch)
    wait_text(browser, "#checkin-picker .picker-count", "3 photo(s) chosen")
    click(browser, "#checkin-form button[type=submit]")
    wait_text(browser, "#checkin-progress-label", "Checked in 3 of 3 photo(s).")
    assert find(browser, "#checkin-progress").get_attribute("value") == "3"
    wait_text(browser, "#checkin-result", "2 marked, 1 already marked")
    wait_text(browser, "#report-counts", "2 present", "2 absent")

    # A near miss: strict thresholds, set in Administration, make every face one. (Not Elton John's: the
    # camera's enrollment made a lookalike of him, so no candidate is clearly ahead, and his face is unknown.)
    before = thresholds(console)
    go(browser, "admin")
    wait_text(browser, "#thresholds-body", "20170512-110547")
    fill(browser, "#thresholds-form input[name=match_threshold]", "0.99")
    fill(browser, "#thresholds-form input[name=review_floor]", "0.3")
    click(browser, "#thresholds-form button[type=submit]")
    wait_text(browser, "#thresholds-message", "match 0.990, review from 0.300")
    try:
        in_force(console, 0.99, photos("val", "madonna")[0])
        go(browser, "attendance")
        choose(browser, "checkin-picker", [photos("val", "madonna")[3]])  # a photo no other test enrolls
        click(browser, "#checkin-form button[type=submit]")
        wait_text(browser, "#checkin-result", "1 of them near miss(es) to review")
        wait_text(browser, "#reviews-body", "Madonna", "CEL004")
        assert find(browser, "#reviews-body canvas.crop").get_attribute("aria-label").startswith("The face in")
        axe_check(browser, "review-queue-desktop")
        full_page_screenshot(browser, "desktop", SCREENSHOTS / "review-queue-desktop.png")
        click(browser, "#reviews-body button.mini:not(.danger)")  # Confirm
        # Not enrolled here: Madonna's photos are shared by every e2e test (the enrollment
        # on confirmation is tested through the API in test_attendance_recognition.py).
        answer_dialog(browser, reason="it is her, new haircut")
        wait_text(browser, "#reviews-message", "Madonna (CEL004) marked present")
        wait_text(browser, "#reviews-caption", "Nothing to review.")
        wait_text(browser, "#report-counts", "3 present", "1 absent")
    finally:
        restore_thresholds(console, before, wait=True)

    # A correction by hand, with a reason; the audit trail names who and why.
    click(browser, "#report-body tr[data-roll='CEL003'] button:nth-child(2)")  # Mark late
    answer_dialog(browser, reason="came after the break")
    wait_text(browser, "#report-message", "CEL003 (Jerry Seinfeld) marked late (was present)")
    wait_text(browser, "#report-counts", "2 present", "1 late", "1 absent")
    click(browser, "#audit-toggle")
    audit = wait_text(browser, "#audit-body", "came after the break", "review")
    assert "it is her" in audit and "bootstrap-admin" in audit

    # The report's CSV, fetched with the key and saved by the browser.
    click(browser, "#report-csv")
    rows = list(csv.DictReader(io.StringIO(downloaded(downloads, ".csv").read_text())))
    status = {r["rollNo"]: r["status"] for r in rows}
    assert status == {ROLL_NOS["ben_afflek"]: "present", ROLL_NOS["elton_john"]: "absent",
                      ROLL_NOS["jerry_seinfeld"]: "late", ROLL_NOS["madonna"]: "present"}, rows

    # The printable register opens in a window of its own.
    main = browser.current_window_handle
    click(browser, "#report-print")
    wait(browser, lambda d: len(d.window_handles) == 2, what="the register's window")
    browser.switch_to.window([h for h in browser.window_handles if h != main][0])
    try:
        wait_text(browser, "body", "Signature", "Jerry Seinfeld", "late")
    finally:
        browser.close()
        browser.switch_to.window(main)


def test_keys_are_made_used_with_their_scope_and_revoked(browser, console):
    try:
        go(browser, "admin")
        fill(browser, "#key-form input[name=name]", "console-door")
        Select(find(browser, "#key-form select[name=scope]")).select_by_value("recognize")
        click(browser, "#key-form button[type=submit]")
        wait_text(browser, "#key-created", "Key “console-door” (recognize) created", "shown this once")
        key = find(browser, "#new-key").get_attribute("value")
        assert key.startswith("atk_")
        click(browser, "#key-created button")  # Copy
        wait(browser, lambda d: "Cop" in text(d, "#key-created span.note"), what="the copy's outcome")
        wait_text(browser, "#keys-body", "console-door", "recognize", "active")

        # Signed in with it: no Administration, and the people list is refused in words that name the scope.
        sign_out(browser)
        assert not text(browser, "#key-created")  # the key is not shown again
        sign_in(browser, key)
        wait_text(browser, "#auth-status", "Signed in as console-door (recognize)")
        assert not visible(browser, "#nav-admin")
        go(browser, "people")
        wait_text(browser, "#persons-message", "Not allowed", "your key “console-door” (scope recognize) may not do this",
                  "it needs the operator scope")
        assert not visible(browser, "a[href='#enroll']")

        sign_out(browser)
        sign_in(browser, ADMIN_KEY)
        wait_text(browser, "#auth-status", "Signed in as bootstrap-admin")
        go(browser, "admin")
        row = "#keys-body tr[data-key='console-door']:not(.revoked)"
        wait(browser, lambda d: visible(d, row + " button"), what="the key's Revoke button")
        click(browser, row + " button")
        answer_dialog(browser)
        wait_text(browser, "#keys-message", "Revoked the key console-door")
        wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, row), what="the key shown as revoked")
        assert requests.get(browser.current_url.split("#")[0] + "api/v1/me", timeout=10,
                            headers={"Authorization": f"Bearer {key}"}).status_code == 401
    finally:  # a key left active would turn authentication on for the session's gateway too
        requests.delete(console + "/api/v1/keys/console-door", headers=as_admin(), timeout=10)


def test_calibration_suggests_thresholds_and_applies_them(browser, console):
    before = thresholds(console)
    go(browser, "admin")
    click(browser, "#calibration-form button[type=submit]")
    suggestion = wait_text(browser, "#calibration-result", "Suggested for 20170512-110547", "photos of")
    assert "False matches" in suggestion and "Genuine scores" in suggestion
    try:
        click(browser, "#calibration-result button.primary")  # Apply these thresholds
        wait_text(browser, "#thresholds-message", "Every matcher uses them within a second")
        wait_text(browser, "#thresholds-body", "settings")
    finally:
        restore_thresholds(console, before, wait=True)


def test_delete_a_person_and_their_attendance(browser):
    go(browser, f"person/{CAMERA['rollNo']}")
    wait_text(browser, "#person-title", "Camera Person (WEB-CAM)")
    click(browser, "#person-delete")
    answer_dialog(browser, checks=["erase"])
    wait_text(browser, "#persons-message", "Deleted WEB-CAM (Camera Person) and their attendance.")
    wait(browser, lambda d: "#people" in d.current_url, what="the people page")


# -- every page, at both sizes -------------------------------------------------------------------------------
def recognized(driver):
    """The recognize page with an answer (signing out cleared the last one; the photo is still chosen)."""
    if "Mindy Kaling" not in text(driver, "#recognize-result"):
        click(driver, "#recognize-form button[type=submit]")


def session_opened(driver):
    """The attendance page with the newest session's panel open (signing out closed it)."""
    if not visible(driver, "#session-panel"):
        wait_text(driver, "#sessions-body", "Console lecture")
        click(driver, "#sessions-body tr:first-child button")  # Open


# (page, what to do there first, an element and the words it shows once the page is loaded)
PAGES = [("people", None, "#persons-caption", "Showing"), ("enroll", None, "#enroll-title", "Enroll"),
         ("person/WEB-MINDY", None, "#history-caption", "excluded"),
         ("recognize", recognized, "#recognize-result", "Mindy Kaling"),
         ("attendance", session_opened, "#report-counts", "present"), ("admin", None, "#health-result", "Checked")]


def full_page_screenshot(driver, size, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[size]
    full = driver.execute_script("return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": min(max(full, height), 6000), "deviceScaleFactor": 1, "mobile": size == "phone"})
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
    finally:
        viewport(driver, size)


def test_every_page_is_accessible_fits_a_phone_and_is_pictured(browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    go(browser, "people")
    find(browser, "#people-search input[name=q]").send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)  # the whole list
    for size in SIZES:
        viewport(browser, size)
        for page, prepare, ready, words in PAGES:
            go(browser, page)
            if prepare:
                prepare(browser)
            wait_text(browser, ready, words)
            name = page.split("/")[0] + "-" + size
            axe_check(browser, name)
            if size == "phone":  # nothing scrolls sideways but a table, inside its own box
                overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, (name, overflow)
            full_page_screenshot(browser, size, SCREENSHOTS / f"{name}.png")
        # A dialog, open: the question before deleting a person.
        go(browser, "person/WEB-MINDY")
        wait_text(browser, "#person-title", "Mindy Kaling")
        click(browser, "#person-delete")
        wait(browser, lambda d: visible(d, "#ask-dialog"), what="the dialog")
        axe_check(browser, "dialog-" + size)
        browser.save_screenshot(str(SCREENSHOTS / f"dialog-{size}.png"))
        find(browser, "#ask-dialog input").send_keys(Keys.ESCAPE)
        wait(browser, lambda d: not visible(d, "#ask-dialog"), what="the dialog to close")
    viewport(browser, "desktop")
    (SCREENSHOTS / "axe.json").write_text(json.dumps(AXE_FOUND, indent=1))
    counts = {name: {impact: sum(v["impact"] == impact for v in found) for impact in ("critical", "serious", "moderate", "minor")}
              for name, found in AXE_FOUND.items()}
    print("\naxe-core violations by impact:\n" + "\n".join(f"  {n}: {c}" for n, c in counts.items()))
    check_log(browser)


def test_the_keyboard_alone_moves_through_the_console(browser):
    """From a fresh page: the first Tab reaches the skip link (visible, outlined), which moves the focus to the
    page; a page chosen from the navigation by Enter gets the focus on its heading; a dialog keeps the focus."""
    go(browser, "people")  # (then Enter on another page's link changes the page)
    browser.refresh()  # the key stays: it is in this tab's sessionStorage
    wait_text(browser, "#auth-status", "Signed in as bootstrap-admin")
    active = lambda: browser.switch_to.active_element  # noqa: E731
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert active().get_attribute("id") == "skip-link"
    assert active().is_displayed() and active().value_of_css_property("outline-style") != "none"
    active().send_keys(Keys.ENTER)
    assert active().get_attribute("id") == "main"
    find(browser, "nav a[data-nav='recognize']").send_keys(Keys.ENTER)
    wait(browser, lambda d: active().get_attribute("id") == "recognize-title", what="the focus on the page's heading")
    go(browser, "person/WEB-MINDY")
    wait_text(browser, "#person-title", "Mindy Kaling")
    find(browser, "#person-delete").send_keys(Keys.ENTER)
    wait(browser, lambda d: visible(d, "#ask-dialog"), what="the dialog")
    for _ in range(6):  # Tab goes round the dialog's controls, never behind it
        ActionChains(browser).send_keys(Keys.TAB).perform()
        assert browser.execute_script("return document.getElementById('ask-dialog').contains(document.activeElement)")
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    wait(browser, lambda d: not visible(d, "#ask-dialog"), what="the dialog to close")
    assert active().get_attribute("id") == "person-delete"  # the focus is back where it was
    check_log(browser)


def test_an_open_api_needs_no_sign_in(browser, api):
    """The session's own gateway has no key: no sign-in box, Administration shown, the lists load at once."""
    browser.get(api.base + "/#people")
    wait_text(browser, "#auth-status", "API open: no key needed")
    wait_text(browser, "#persons-caption", "Showing")
    assert not visible(browser, "#signin") and visible(browser, "#nav-admin")
    check_log(browser)
