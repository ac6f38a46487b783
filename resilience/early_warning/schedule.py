"""The send schedule of an episode's messages: what to issue, under which key, and when.

* Alert: ``max(now, onset - lead time)``: "expected within H hours" (domain.md 1.2).
* Update that raises the level (or adds assets to an impact alert): ``max(now, step start -
  lead time, previous sent)``, announced ahead like an Alert. An Update that lowers it:
  ``max(now, step start)``, so the message in force never shows a level before its time.
* Cancel: ``max(now, episode expiry)``, unless the episode is ``open_ended`` (it expires).
* Continuing an episode in force (a newer forecast): Updates for the steps its sent messages
  have not announced (same level from the same start), plus one now, for the step in force,
  if only the expiry changes before the first of them goes.
* Cancelling an episode in force now, when the newer forecast no longer supports it.

Keys: ``hazard|district|episode onset|forecast stamp:step`` (steps ``0:blue``, ``now:blue``,
``cancel``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from resilience.early_warning.cap import MsgType
from resilience.early_warning.decision import AlertDecision, LevelStep, RuleScope
from resilience.early_warning.metric import BEIJING
from resilience.early_warning.outbox import alert_time
from resilience.early_warning.rule_models import LEVELS
from resilience.early_warning.supersede import OpenEpisode
from resilience.storage.tables import AlertRecord

__all__ = ["MessagePlan", "alert_key", "cancel_now_plan", "episode_plans", "episode_prefix"]


def alert_key(prefix: str, stamp: str, step: str) -> str:
    """Return a message key: episode prefix | forecast stamp : step ("0:blue", "cancel")."""
    return f"{prefix}|{stamp}:{step}"


def episode_prefix(hazard: str, area: str, onset: datetime) -> str:
    """Return the key prefix of an episode: hazard | district | onset (Beijing, minutes)."""
    return f"{hazard}|{area}|{onset.astimezone(BEIJING):%Y%m%dT%H%M}"


@dataclass(frozen=True)
class MessagePlan:
    """One message to issue: key, type, the decision and step it announces, earliest send.

    ``previous_level`` is the level of the message before it in the chain (Update headlines).
    """

    key: str
    msg_type: MsgType
    decision: AlertDecision
    step: LevelStep
    previous_level: str | None
    earliest: datetime


def _chain_levels(plans: list[MessagePlan], first: str | None) -> list[MessagePlan]:
    """Set each plan's ``previous_level`` to the level of the plan before it in the chain."""
    out, previous = [], first
    for plan in plans:
        out.append(replace(plan, previous_level=previous))
        previous = plan.step.level
    return out


def _earliest(
    step: LevelStep, before: LevelStep | None, lead: timedelta, now: datetime
) -> datetime:
    """Return the earliest send time of a step's message.

    Ahead by the lead time when the step raises the alert (a higher level, or new assets),
    otherwise at the step's start: a downgrade is announced when it happens.
    """
    raises = before is None or LEVELS.index(step.level) > LEVELS.index(before.level)
    raises |= before is not None and bool(
        {a.asset_id for a in step.assets} - {a.asset_id for a in before.assets}
    )
    return max(now, step.start - lead) if raises else max(now, step.start)


def _new_episode_plans(decision: AlertDecision, prefix: str, stamp: str, now: datetime) -> list:
    lead = timedelta(hours=decision.lead_h)
    steps = decision.steps
    return [
        MessagePlan(
            alert_key(prefix, stamp, f"{n}:{step.level}"),
            "Update" if n else "Alert",
            decision,
            step,
            None,
            _earliest(step, steps[n - 1] if n else None, lead, now),
        )
        for n, step in enumerate(steps)
    ]


def _continued_plans(
    decision: AlertDecision, prefix: str, stamp: str, now: datetime, sent: list[AlertRecord]
) -> list[MessagePlan]:
    """Plan the Updates that continue an episode in force.

    They are the steps its sent messages have not announced (same level from the same start),
    plus one now, for the step in force, if the expiry changes before the first of them goes.
    """
    lead = timedelta(hours=decision.lead_h)
    announced = {(r.level, alert_time(r.onset)) for r in sent if r.msg_type != "Cancel"}
    steps = decision.steps
    plans = [
        MessagePlan(
            alert_key(prefix, stamp, f"{n}:{step.level}"),
            "Update",
            decision,
            step,
            None,
            _earliest(step, steps[n - 1] if n else None, lead, now),
        )
        for n, step in enumerate(steps)
        if (step.level, step.start) not in announced
    ]
    if alert_time(sent[-1].expires) != decision.expires and (not plans or plans[0].earliest > now):
        current = [s for s in decision.steps if s.start <= now] or decision.steps[:1]
        step = current[-1]
        plans.insert(
            0,
            MessagePlan(
                alert_key(prefix, stamp, f"now:{step.level}"), "Update", decision, step, None, now
            ),
        )
    return plans


def episode_plans(
    decision: AlertDecision, prefix: str, stamp: str, now: datetime, *, sent: list[AlertRecord]
) -> list[MessagePlan]:
    """Return the plans of one episode, in order.

    Parameters
    ----------
    decision : AlertDecision
        The episode.
    prefix : str
        Its key prefix (:func:`episode_prefix`, or that of the episode it continues).
    stamp : str
        The forecast's stamp.
    now : datetime
        The forecast's issue time (aware).
    sent : list of AlertRecord
        Messages already sent of the episode it continues; empty for a new episode.

    Returns
    -------
    list of MessagePlan
    """
    if sent:
        plans = _continued_plans(decision, prefix, stamp, now, sent)
    else:
        plans = _new_episode_plans(decision, prefix, stamp, now)
    if not decision.open_ended:
        last = decision.steps[-1]
        plans.append(
            MessagePlan(
                alert_key(prefix, stamp, "cancel"),
                "Cancel",
                decision,
                last,
                None,
                max(now, decision.expires),
            )
        )
    return _chain_levels(plans, sent[-1].level if sent else None)


def cancel_now_plan(
    scope: RuleScope, episode: OpenEpisode, stamp: str, now: datetime
) -> MessagePlan:
    """Return the plan of a Cancel, now, of an episode the newer forecast no longer supports.

    Its step repeats the last level with probability 0 and certainty ``Unlikely``.
    """
    last = episode.last
    step = LevelStep(
        level=last.level,  # type: ignore[arg-type]  # stored from the same Literal
        start=now,
        end=now + timedelta(hours=1),
        probability=0.0,
        certainty="Unlikely",
        criterion_id="",
        criterion_zh="最新预报不再达到预警标准",
        criterion_en="the latest forecast no longer reaches the criteria",
        value_median=0.0,
        value_max=0.0,
        units="",
        unconfirmed=False,
        recipients=list(last.agencies or []),
    )
    fields = scope.model_dump(include=set(RuleScope.model_fields))  # a decision is a scope too
    decision = AlertDecision(**fields, onset=now, expires=now, steps=[step])
    return MessagePlan(
        alert_key(episode.prefix, stamp, "cancel"), "Cancel", decision, step, last.level, now
    )
