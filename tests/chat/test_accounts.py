"""Chat accounts: sign-up rules, argon2 hashes, log-in, sessions, CSRF, rate limits."""

from __future__ import annotations

import pytest

from childsafe.chat.accounts import AccountError, RateLimiter, SignUp, validate
from childsafe.chat.store import utcnow
from tests.chat.helpers import PASSWORD


def test_sign_up_keeps_an_argon2_hash_and_the_declared_age(chat):
    chat.sign_up("kim", 13, email="kim@example.com")
    user = chat.store.user_by_name("kim")
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert user.age() == 13 and user.is_child and user.country == "GB"
    page = chat.as_("kim").client.get("/rooms")
    assert page.status_code == 200 and "Kim (@kim, 13)" in page.text


def test_session_cookie_is_http_only_and_lax(chat):
    chat.client.get("/login")
    r = chat.client.post("/signup", data={"username": "amy", "password": PASSWORD,
                                          "birth_year": "1990", "country": "FR",
                                          "csrf": chat.csrf()}, follow_redirects=False)
    cookie = next(v for k, v in r.headers.multi_items()
                  if k == "set-cookie" and v.startswith("chat_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


@pytest.mark.parametrize(("form", "field"), [
    ({"username": "ab"}, "username"),
    ({"username": "Bad Name"}, "username"),
    ({"username": "police_uk"}, "username"),
    ({"display_name": "Police officer"}, "display_name"),
    ({"password": "short"}, "password"),
    ({"birth_year": 1800}, "birth_year"),
    ({"birth_year": utcnow().year - 3}, "birth_year"),
    ({"country": "United Kingdom"}, "country"),
    ({"email": "not-an-email"}, "email"),
])
def test_sign_up_validation_names_the_field(form, field):
    base = {"username": "someone", "display_name": "Someone", "password": PASSWORD,
                "birth_year": 1990, "country": "GB", "email": ""}
    with pytest.raises(AccountError) as err:
        validate(SignUp(**(base | form)))
    assert err.value.field == field


def test_display_names_lose_control_and_bidi_characters():
    checked = validate(SignUp("tom", "To\u202em\x00 \u200b", PASSWORD, 1990, "gb"))
    assert checked.display_name == "Tom"
    assert checked.country == "GB"


def test_taken_username_and_wrong_password(chat):
    chat.sign_up("kim", 13)
    chat.client.cookies.delete("chat_session")
    r = chat.client.post("/signup", data={"username": "kim", "password": PASSWORD,
                                          "birth_year": "1990", "country": "GB",
                                          "csrf": chat.csrf()})
    assert r.status_code == 400 and "taken" in r.text
    r = chat.client.post("/login", data={"username": "kim", "password": "wrong-password!",
                                         "csrf": chat.csrf()})
    assert r.status_code == 400 and "Wrong username or password." in r.text
    r = chat.client.post("/login", data={"username": "KIM", "password": PASSWORD,
                                         "csrf": chat.csrf()}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/rooms"


def test_log_in_next_never_leaves_the_site(chat):
    chat.sign_up("kim", 13)
    r = chat.client.post("/login", data={"username": "kim", "password": PASSWORD,
                                         "csrf": chat.csrf(), "next": "//evil.test/x"},
                         follow_redirects=False)
    assert r.headers["location"] == "/rooms"


def test_log_out_ends_the_session(chat):
    token = chat.sign_up("kim", 13)
    r = chat.client.post("/logout", data={"csrf": chat.csrf()}, follow_redirects=False)
    assert r.status_code == 303
    assert chat.store.session_user(token) is None
    chat.client.cookies.set("chat_session", token)
    assert chat.client.get("/rooms", follow_redirects=False).headers["location"].startswith(
        "/login")


def test_forms_need_the_csrf_token_and_our_origin(chat):
    chat.sign_up("kim", 13)
    r = chat.client.post("/rooms/teen-lounge-3/messages", data={"text": "hi"})
    assert r.status_code == 403 and "expired" in r.text
    r = chat.client.post("/rooms/teen-lounge-3/messages",
                         data={"text": "hi", "csrf": chat.csrf()},
                         headers={"origin": "http://evil.test"})
    assert r.status_code == 403
    r = chat.client.post("/rooms/teen-lounge-3/messages",
                         data={"text": "hi", "csrf": chat.csrf()},
                         headers={"origin": "http://chat.test"}, follow_redirects=False)
    assert r.status_code == 303


def test_failed_log_ins_are_rate_limited(chat):
    chat.sign_up("kim", 13)
    chat.client.cookies.delete("chat_session")
    statuses = [chat.client.post("/login", data={"username": "kim", "password": "nope-nope-nope",
                                                 "csrf": chat.csrf()}).status_code
                for _ in range(12)]
    assert statuses[0] == 400 and statuses[-1] == 429


def test_rate_limiter_window():
    now = [0.0]
    limiter = RateLimiter(2, 10, clock=lambda: now[0])
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") > 0 and limiter.hit("b") == 0
    now[0] = 10.5
    assert limiter.hit("a") == 0
