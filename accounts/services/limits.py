"""Attempt limits: how many logins, sign-ups and password-reset requests a client may make.

Each limit is a fixed window counted in the shared cache (Redis in production). The first
attempt opens the window with its expiry; every attempt is one atomic increment (django-redis
runs INCRBY in a script that first checks the key exists; the local-memory cache increments
under its lock), and an attempt whose number passes the limit is refused until the window
ends. Counting *before* the guarded work is what makes a limit hold under concurrency:
thirty parallel password guesses draw thirty distinct numbers, and only the first five
reach the password hasher.

When the shared cache cannot be reached (django-redis is set to log connection errors and
answer None), attempts are counted in this process's memory instead. Failing open would
switch every limit off for as long as Redis is down; failing closed would lock everyone out
of their accounts over a cache outage. Local counts keep logins working and still bound an
attacker, to each limit per web process instead of per site.
"""

import contextlib
import hashlib
import math
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache

from accounts.backends import login_user_lookup
from accounts.errors import LoginThrottled, PasswordResetThrottled, RegistrationThrottled
from joycart.errors import Throttled

HOUR = 60 * 60

# Bounded: a flood of new keys evicts old counters, which matters only while Redis is down.
local_counters = LocMemCache("joycart-limits-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


@dataclass(frozen=True)
class Budget:
    """At most `limit` attempts per window of `window_seconds`, counted under `key`."""

    key: str
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class Spent:
    """One attempt counted against a budget, and the store that counted it, to give it back there."""

    budget: Budget
    store: BaseCache


class _CacheUnreachable(Exception):
    """django-redis answered None: it logged and swallowed a connection error."""


def _digest(value: str) -> str:
    # Keys carry no e-mail address or IP in clear, and stay short and cache-safe whatever was typed.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _ends_key(key: str) -> str:
    return f"{key}:ends"


def _incr(store: BaseCache, key: str) -> int | None:
    """The key's count after one more attempt; None when no window is open under it."""
    try:
        count = store.incr(key)
    except ValueError:
        return None
    if count is None:
        raise _CacheUnreachable
    return count


def _count_in(store: BaseCache, budget: Budget) -> int:
    """This attempt's number in the budget's current window."""
    count = _incr(store, budget.key)
    if count is not None:
        return count
    # `add` lets exactly one of several concurrent first attempts open the window, so none of
    # them resets a count another has already made.
    opened = store.add(budget.key, 1, timeout=budget.window_seconds)
    if opened is None:
        raise _CacheUnreachable
    if not opened:
        count = _incr(store, budget.key)  # another attempt opened it a moment ago
        if count is not None:
            return count
        # ... and that window has ended already: this attempt opens the next.
        store.set(budget.key, 1, timeout=budget.window_seconds)
    store.set(_ends_key(budget.key), time.time() + budget.window_seconds, timeout=budget.window_seconds)
    return 1


def _count(budget: Budget) -> tuple[int, BaseCache]:
    try:
        return _count_in(cache, budget), cache
    except _CacheUnreachable:
        return _count_in(local_counters, budget), local_counters


def _seconds_left(spent: Spent) -> int:
    ends_at = spent.store.get(_ends_key(spent.budget.key))
    if ends_at is None:
        return spent.budget.window_seconds
    return max(1, math.ceil(ends_at - time.time()))


def budgets_spend(budgets: list[Budget], *, refusal: type[Throttled]) -> list[Spent]:
    """Count one attempt against every budget, or, when one is used up, against none and raise `refusal`.

    A refused attempt does none of the guarded work, so the budgets it had already drawn on
    get their attempt back; the used-up one stays refused until its window ends anyway.
    """
    spent: list[Spent] = []
    for budget in budgets:
        count, store = _count(budget)
        drawn = Spent(budget=budget, store=store)
        if count > budget.limit:
            spent_give_back(spent)
            raise refusal(retry_after=_seconds_left(drawn))
        spent.append(drawn)
    return spent


def spent_give_back(spent: list[Spent]) -> None:
    for each in spent:
        # A window that ended meanwhile has nothing to give back to.
        with contextlib.suppress(ValueError):
            each.store.decr(each.budget.key)


def spent_reset(spent: Spent) -> None:
    """Close the budget's window: the next attempt opens a fresh one."""
    spent.store.delete_many([spent.budget.key, _ends_key(spent.budget.key)])


# --- Logins ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginReservation:
    """The attempt a login drew from its account's and its client address's failure budgets."""

    account: Spent
    client: Spent


def _login_account_key(identifier: str) -> str:
    """One key per account, whether its username or its e-mail address was typed.

    An identifier that names no account is limited under its own key, exactly as strictly,
    so probing unknown names costs the same and answers the same.
    """
    user = login_user_lookup(identifier)
    if user is not None:
        return f"limits:login:account:{user.pk}"
    return f"limits:login:unknown:{_digest(identifier.strip().lower())}"


def login_attempt_reserve(*, identifier: str, ip: str) -> LoginReservation:
    """Draw one failure from the account's and the client address's budgets, before the password is checked.

    Raises LoginThrottled once either is used up, even for the right password. A wrong password
    needs no further call: the reservation already is that failure. A right one is reported
    to `login_attempt_succeeded`.
    """
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    account, client = budgets_spend(
        [
            Budget(_login_account_key(identifier), settings.LOGIN_FAILURES_PER_ACCOUNT, window),
            Budget(f"limits:login:ip:{_digest(ip)}", settings.LOGIN_FAILURES_PER_IP, window),
        ],
        refusal=LoginThrottled,
    )
    return LoginReservation(account=account, client=client)


def login_attempt_succeeded(reservation: LoginReservation) -> None:
    """The password was right, so the attempt was no failure.

    The account starts afresh: only someone who knows its password can do that. The client
    address only gets this one attempt back; clearing its count would let an attacker wipe
    their failures by logging into an account of their own.
    """
    spent_reset(reservation.account)
    spent_give_back([reservation.client])


# --- Sign-ups and password resets -----------------------------------------------------


def registration_attempt_record(*, ip: str) -> None:
    """Count a sign-up attempt, from the page or the API, valid or not, against the client address."""
    budgets_spend(
        [Budget(f"limits:register:ip:{_digest(ip)}", settings.REGISTRATIONS_PER_IP_PER_HOUR, HOUR)],
        refusal=RegistrationThrottled,
    )


def password_reset_request_record(*, ip: str) -> None:
    """Count a password-reset request against the client address; this limit may show, as it is about the client."""
    budgets_spend(
        [Budget(f"limits:password-reset:ip:{_digest(ip)}", settings.PASSWORD_RESET_REQUESTS_PER_IP_PER_HOUR, HOUR)],
        refusal=PasswordResetThrottled,
    )


def password_reset_mail_allowed(*, email: str) -> bool:
    """Count a reset request for an address; False once its hourly mails are used up.

    The caller answers "sent" either way, so the limit never tells whether the address has
    an account. Keyed by the address as Django compares it before mailing (NFKC, casefolded),
    so no spelling of one address gets a budget of its own.
    """
    address = unicodedata.normalize("NFKC", email.strip()).casefold()
    budget = Budget(
        f"limits:password-reset:email:{_digest(address)}", settings.PASSWORD_RESET_MAILS_PER_EMAIL_PER_HOUR, HOUR
    )
    count, _store = _count(budget)
    return count <= budget.limit
