"""Make a staff account for the console, or set a new password (`make staff-user`).

    python -m bot.staff.create_user                      # asks for the user name, first name and password
    python -m bot.staff.create_user --username sam --first-name Sam --password-stdin < password.txt
    python -m bot.staff.create_user --username sam --reset-password

The account lives in the requests database ($BOOKING_REQUESTS_DB_URL, else .data/requests.sqlite). The first name
is what patients see when this person takes over a chat. Setting a new password logs the user out everywhere.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import List, Optional

from bot.staff.accounts import MIN_PASSWORD_LENGTH, AccountError, StaffAccounts
from bot.staff.sessions import SessionStore
from bot.storage.booking_requests import shared_store


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"Password (at least {MIN_PASSWORD_LENGTH} characters): ")
    if getpass.getpass("The same password again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Make a staff account for the console, or reset its password.")
    parser.add_argument("--username")
    parser.add_argument("--first-name", help="shown to patients when this person takes over a chat")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    parser.add_argument("--reset-password", action="store_true", help="set a new password for an existing user")
    parser.add_argument(
        "--db-url", help="the requests database (default: $BOOKING_REQUESTS_DB_URL or .data/requests.sqlite)"
    )
    args = parser.parse_args(argv)
    store = shared_store(args.db_url)
    accounts = StaffAccounts(store.engine)
    try:
        username = args.username or input("User name (e.g. sam): ")
        if args.reset_password:
            accounts.set_password(username, read_password(args.password_stdin))
            user = next(u for u in accounts.list() if u.username == username.strip().lower())
            SessionStore(store.engine).end_all(user.id)
            print(f"New password set for {user.username}; their sessions were ended.")
            return 0
        first_name = args.first_name or input("First name (patients see it): ")
        user = accounts.create(username, first_name, read_password(args.password_stdin))
    except AccountError as error:
        print(f"Not done: {error}.", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print("\nNot done.", file=sys.stderr)
        return 1
    print(f"Made staff user {user.username} ({user.first_name}). Log in at /staff/login on the web service.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
