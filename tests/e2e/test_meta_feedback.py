"""Patients' ratings on Messenger and Instagram (issue #16), end to end: signed webhooks into the real `rasa run`,
the replies' ids from the fake Graph API (tests/support/fake_graph.py answers each send with a `message_id`, as Meta
does), the ratings checked in the requests' database against the tracker's user event.

A rating is handled in the background in the sender's turn order, like a message: "nothing was stored" is checked
after a sentinel message from the same sender has been answered (tests/e2e/test_meta_channels.py `sentinel`).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Dict

import pytest

from tests.e2e.test_meta_channels import (
    conversation,
    event,
    new_id,
    post,
    sentinel,
    text,
    wait_user_events,
    webhook,
)
from tests.e2e.test_widget_feedback import ratings, wait_ratings

pytestmark = pytest.mark.e2e

REFERRAL = "do I need a GP referral?"


def ask(stack, fake_graph, platform: str, user: str, account: str) -> tuple:
    """The patient asks; (the patient message's mid, the page's reply mid) once the reply reached the fake Graph API."""
    mid = new_id("m_")
    assert post(stack, platform, webhook(platform, account, text(user, account, REFERRAL, mid)))[0] == 200
    fake_graph.wait_for_messages(user, 1)
    [reply] = [r for r in fake_graph.sends_to(user) if r.status == 200]
    assert reply.message_id, "the fake Graph API answers a send with its message_id, as Meta does"
    [user_event] = wait_user_events(stack, conversation(platform, user), 1)
    assert user_event["message_id"] == mid
    return mid, reply.message_id


def sent_rows(stack, sender_id: str) -> Dict[str, str]:
    path = Path(stack.tracker_db).parent / "requests.sqlite"
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT sent_mid, reply_to FROM meta_sent_messages WHERE sender_id = ?", (sender_id,)))


def feedback(user: str, account: str, verdict: str, mid: str) -> Dict[str, Any]:
    return event(user, account, response_feedback={"feedback": verdict, "mid": mid})


def reaction(user: str, account: str, mid: str, action: str = "react", **fields: Any) -> Dict[str, Any]:
    return event(user, account, reaction={"mid": mid, "action": action, **fields})


def test_messenger_response_feedback_rates_the_message_the_reply_answered(stack, fake_graph):
    psid, page = new_id("1"), new_id("9")
    mid, reply = ask(stack, fake_graph, "facebook", psid, page)
    sender = conversation("facebook", psid)
    assert sent_rows(stack, sender) == {reply: mid}

    assert post(stack, "facebook", webhook("facebook", page, feedback(psid, page, "Bad response", reply)))[0] == 200
    assert wait_ratings(stack, sender, {mid: "down"}) == {mid: "down"}
    assert post(stack, "facebook", webhook("facebook", page, feedback(psid, page, "Good response", reply)))[0] == 200
    assert wait_ratings(stack, sender, {mid: "up"}) == {mid: "up"}
    thumbs_down = reaction(psid, page, reply, reaction="dislike", emoji="\U0001f44e")
    assert post(stack, "facebook", webhook("facebook", page, thumbs_down))[0] == 200
    assert wait_ratings(stack, sender, {mid: "down"}) == {mid: "down"}


def test_instagram_reaction_rates_and_unreact_takes_it_back(stack, fake_graph):
    igsid, account = new_id("2"), new_id("8")
    mid, reply = ask(stack, fake_graph, "instagram", igsid, account)
    sender = conversation("instagram", igsid)
    love = reaction(igsid, account, reply, reaction="love", emoji="\u2764\ufe0f")
    assert post(stack, "instagram", webhook("instagram", account, love))[0] == 200
    assert wait_ratings(stack, sender, {mid: "up"}) == {mid: "up"}
    assert post(stack, "instagram", webhook("instagram", account, reaction(igsid, account, reply, "unreact")))[0] == 200
    assert wait_ratings(stack, sender, {}) == {}


def test_attacks_on_meta_ratings_store_nothing(stack, fake_graph):
    psid, page, other = new_id("1"), new_id("9"), new_id("1")
    mid, reply = ask(stack, fake_graph, "facebook", psid, page)
    victim = conversation("facebook", psid)
    # another user rates the victim's reply; a made-up mid; a reaction that says nothing; an unsigned webhook
    attacks = [
        webhook("facebook", page, feedback(other, page, "Bad response", reply)),
        webhook("facebook", page, feedback(psid, page, "Bad response", "m_made_up")),
        webhook("facebook", page, reaction(psid, page, reply, reaction="wow", emoji="\U0001f62e")),
    ]
    for attack in attacks:
        assert post(stack, "facebook", attack)[0] == 200
    unsigned = webhook("facebook", page, feedback(psid, page, "Bad response", reply))
    assert post(stack, "facebook", unsigned, signature=None)[0] == 403
    assert post(stack, "facebook", unsigned, signature="sha256=" + "0" * 64)[0] == 403
    sentinel(stack, fake_graph, "facebook", other, page)  # the other user's turn queue has passed the attack
    sentinel(stack, fake_graph, "facebook", psid, page, replies_before=1)  # and the victim's
    time.sleep(0.5)
    assert ratings(stack, victim) == {} and ratings(stack, conversation("facebook", other)) == {}
