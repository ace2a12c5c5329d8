"""Demo accounts of the chat: an adult, a child and a parent (the seed story's cast).

Passwords are fixed and printed by `make demo`: this is a local demonstration, never a
deployment. Ages are declared through the year of birth, as at sign-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from childsafe.chat import accounts
from childsafe.chat.store import ChatStore, utcnow


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    password: str
    display_name: str
    age: int
    country: str
    email: str
    is_parent: bool
    role: str


DEMO_ACCOUNTS = (
    DemoAccount("dan", "dan-demo-password", "Dan", 31, "GB", "dan@chatty.example.com", False,
                "adult, 31 (plays the groomer in the story)"),
    DemoAccount("kim", "kim-demo-password", "Kim", 13, "GB", "kim@example.com", False,
                "child, 13"),
    DemoAccount("lee", "lee-demo-password", "Lee (Kim's parent)", 42, "GB",
                "lee@example.com", True, "parent of Kim"),
)


def seed_accounts(store: ChatStore) -> list[DemoAccount]:
    """Create the demo accounts that are missing (idempotent); returns all of them."""
    year = utcnow().year
    for account in DEMO_ACCOUNTS:
        if store.user_by_name(account.username) is None:
            accounts.sign_up(store, accounts.SignUp(
                account.username, account.display_name, account.password, year - account.age,
                account.country, account.email, account.is_parent))
    return list(DEMO_ACCOUNTS)
