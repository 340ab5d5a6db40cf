"""Scripted events: ``events:`` of a scenario, each a trigger and a list of actions.

Every trigger and every action is a mapping tagged by its ``type`` key (a discriminated
union, so a typo in one field is reported at that field, not as "none of 12 forms
matched")::

    events:
      - name: cut
        trigger: {type: ego_near_actor, actor: cutter, distance_m: 30}
        actions:
          - {type: cut_in, actor: cutter, gap_m: 12, duration_s: 3}

Triggers (evaluated every physics step, at the step's start time ``t``):

* ``at_time {time_s}``: the first step with ``t >= time_s``.
* ``ego_near_actor {actor, distance_m}``: centre-to-centre distance between the ego and the
  named actor (vehicle or pedestrian) ``<= distance_m``.
* ``ego_near_position {position: [x, y], distance_m}``: the ego's centre within
  ``distance_m`` of the point.
* ``ttc_below {actor, ttc_s}``: the actor's time-to-collision with the ego ``< ttc_s``.
  TTC = bumper gap / closing speed, defined only while the actor is ahead of or behind the
  ego in the same lane, or on the lane that follows the other's lane (its path), and they
  close in (closing speed > 0). Bumper gap = centre distance - half length of each; closing
  speed = minus the rate of change of the centre distance (from the speed vectors).
* ``after_event {event, delay_s}``: ``delay_s`` after the named event first fired.

``once: true`` (default): an event fires at most once. ``once: false``: it fires again
each time its trigger becomes true after having been false (``at_time`` and
``after_event`` are true once, so they fire once either way).

Actions (a vehicle under an action is driven by it and by no MOBIL lane change until the
action ends, then it goes back to its driver):

* ``cut_in {actor, gap_m, duration_s}``: the actor matches the ego's speed in a lane next
  to the ego's at ``gap_m`` ahead (bumper to bumper, actor's rear to the ego's front), then
  changes into the ego's lane taking about ``duration_s``, keeping that gap.
* ``hard_brake {actor, decel_mps2, duration_s}``: brakes at exactly ``decel_mps2`` for
  ``duration_s`` (null: until standstill, then stays stopped); steering from its driver.
* ``change_lane {actor, direction: left|right}``: a lane change to that side as soon as it
  is safe (given up after 10 s).
* ``set_speed {actor, speed_mps}``: the actor's cruise speed from now on (curves still cap
  it; the speed limit no longer does).
* ``stop {actor}``: brakes at the driver's comfortable deceleration to standstill (harder
  if its driver must) and stays stopped.
* ``cross {pedestrian, speed_mps}``: the pedestrian walks across the road.
* ``spawn {actor}``: a ``hidden`` vehicle actor (or pedestrian) appears at its start.
* ``debris {item}`` (a declared debris item is launched) or
  ``debris {kind, position: [x, y, z], velocity_mps: [vx, vy, vz]}`` (a new piece).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from scenarios.actor_schema import DebrisKind
from scenarios.limits import MAX_COORD_M, MAX_DURATION_S, Coord, FieldError, Id, Strict

MAX_EVENTS = 256
MAX_ACTIONS = 32

Speed = Annotated[float, Field(ge=0, le=70)]
Vel = Annotated[float, Field(ge=-100, le=100)]


# --------------------------------------------------------------------------- triggers
class AtTime(Strict):
    type: Literal["at_time"]
    time_s: float = Field(ge=0, le=MAX_DURATION_S, description="Simulation time [s].")


class EgoNearActor(Strict):
    type: Literal["ego_near_actor"]
    actor: Id = Field(description="A vehicle actor or pedestrian name.")
    distance_m: float = Field(gt=0, le=2 * MAX_COORD_M,
                              description="Centre-to-centre distance [m].")


class EgoNearPosition(Strict):
    type: Literal["ego_near_position"]
    position: tuple[Coord, Coord]
    distance_m: float = Field(gt=0, le=2 * MAX_COORD_M)


class TtcBelow(Strict):
    type: Literal["ttc_below"]
    actor: Id
    ttc_s: float = Field(gt=0, le=600, description="Time-to-collision with the ego [s].")


class AfterEvent(Strict):
    type: Literal["after_event"]
    event: Id
    delay_s: float = Field(0.0, ge=0, le=MAX_DURATION_S)


Trigger = Annotated[Union[AtTime, EgoNearActor, EgoNearPosition, TtcBelow, AfterEvent],
                    Field(discriminator="type")]


# --------------------------------------------------------------------------- actions
class CutIn(Strict):
    type: Literal["cut_in"]
    actor: Id
    gap_m: float = Field(12.0, gt=0, le=200,
                         description="Bumper gap ahead of the ego at the end [m].")
    duration_s: float = Field(3.0, ge=1, le=20, description="Lane change duration [s].")


class HardBrake(Strict):
    type: Literal["hard_brake"]
    actor: Id
    decel_mps2: float = Field(gt=0, le=15)
    duration_s: float | None = Field(None, gt=0, le=MAX_DURATION_S,
                                     description="null: until stopped (then stays).")


class ChangeLane(Strict):
    type: Literal["change_lane"]
    actor: Id
    direction: Literal["left", "right"]


class SetSpeed(Strict):
    type: Literal["set_speed"]
    actor: Id
    speed_mps: Speed


class Stop(Strict):
    type: Literal["stop"]
    actor: Id


class Cross(Strict):
    type: Literal["cross"]
    pedestrian: Id
    speed_mps: float = Field(1.4, gt=0, le=10)


class Spawn(Strict):
    type: Literal["spawn"]
    actor: Id


class Debris(Strict):
    type: Literal["debris"]
    item: Id | None = Field(None, description="A declared debris item; or give kind, "
                            "position and velocity_mps for a new piece.")
    kind: DebrisKind | None = None
    position: tuple[Coord, Coord, Annotated[float, Field(ge=-100, le=1000)]] | None = None
    velocity_mps: tuple[Vel, Vel, Vel] = (0.0, 0.0, 0.0)

    @model_validator(mode="after")
    def _one_form(self) -> Debris:
        if self.item is not None:
            if self.kind is not None or self.position is not None:
                raise FieldError(("item",), "give either item or kind + position, not both")
        elif self.kind is None or self.position is None:
            raise FieldError(("kind",), "give item (a declared debris item) or kind and "
                             "position (a new piece)")
        return self


Action = Annotated[Union[CutIn, HardBrake, ChangeLane, SetSpeed, Stop, Cross, Spawn, Debris],
                   Field(discriminator="type")]

VEHICLE_ACTIONS = ("cut_in", "hard_brake", "change_lane", "set_speed", "stop")


class Event(Strict):
    """A named trigger with the actions it starts."""

    name: Id
    trigger: Trigger
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS)
    once: bool = Field(True, description="false: fire again each time the trigger "
                       "becomes true again.")


def _names(items) -> list[str]:
    return [n for n in (getattr(x, "name", None) for x in items or []) if n is not None]


def _unknown(loc: tuple, what: str, name: str, known: list[str]) -> FieldError:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else \
        (f"; known: {', '.join(sorted(known))}" if known else f"; the scenario has no {what}s")
    return FieldError(loc, f"unknown {what} {name!r}{hint}")


def check_events(scenario) -> None:
    """The rules of ``scenario.events`` that need the whole scenario: names exist, an
    ``after_event`` chain has no cycle, ``cut_in`` names a vehicle actor, ``spawn`` a hidden
    one (or a pedestrian).

    Raises:
        FieldError: located at the offending field (``("events", i, ...)``).
    """
    events = scenario.events
    if not events:
        return
    vehicles = [a.name for a in scenario.actors]
    hidden = {a.name for a in scenario.actors if getattr(a, "hidden", False)}
    pedestrians = _names(getattr(scenario, "pedestrians", None))
    debris = _names(getattr(scenario, "debris", None))
    names = [e.name for e in events]
    for i, e in enumerate(events):
        if names.count(e.name) > 1:
            raise FieldError(("events", i, "name"), f"duplicate event name {e.name!r}")
    for i, e in enumerate(events):
        t = e.trigger
        if isinstance(t, TtcBelow) and t.actor not in vehicles:
            raise _unknown(("events", i, "trigger", "actor"), "vehicle actor", t.actor,
                           vehicles) if t.actor not in pedestrians else \
                FieldError(("events", i, "trigger", "actor"), f"{t.actor!r} is a "
                           "pedestrian: ttc_below needs a vehicle actor (use "
                           "ego_near_actor for a pedestrian)")
        if isinstance(t, (EgoNearActor, TtcBelow)):
            if t.actor not in vehicles + pedestrians:
                raise _unknown(("events", i, "trigger", "actor"), "actor", t.actor,
                               vehicles + pedestrians)
        elif isinstance(t, AfterEvent):
            if t.event not in names:
                raise _unknown(("events", i, "trigger", "event"), "event", t.event, names)
        for k, a in enumerate(e.actions):
            loc = ("events", i, "actions", k)
            if a.type == "cut_in":
                if a.actor not in vehicles:
                    raise _unknown(loc + ("actor",), "vehicle actor", a.actor, vehicles)
            elif a.type in VEHICLE_ACTIONS:
                if a.actor not in ["ego"] + vehicles:
                    raise _unknown(loc + ("actor",), "vehicle actor", a.actor,
                                   ["ego"] + vehicles)
            elif a.type == "cross":
                if a.pedestrian not in pedestrians:
                    raise _unknown(loc + ("pedestrian",), "pedestrian", a.pedestrian,
                                   pedestrians)
            elif a.type == "spawn":
                if a.actor in vehicles and a.actor not in hidden:
                    raise FieldError(loc + ("actor",), f"{a.actor!r} is on the map from "
                                     "the start; give it 'hidden: true' to spawn it")
                if a.actor not in vehicles + pedestrians:
                    raise _unknown(loc + ("actor",), "actor", a.actor, vehicles + pedestrians)
            elif a.type == "debris" and a.item is not None and a.item not in debris:
                raise _unknown(loc + ("item",), "debris item", a.item, debris)
    # after_event chains: no cycle (an event waiting, through others, on itself).
    after = {e.name: e.trigger.event for e in events if isinstance(e.trigger, AfterEvent)}
    for i, e in enumerate(events):
        seen, cur = {e.name}, after.get(e.name)
        while cur is not None:
            if cur in seen:
                raise FieldError(("events", i, "trigger", "event"), f"event {e.name!r} "
                                 "waits on itself through after_event "
                                 f"({' -> '.join([e.name, *_chain(after, e.name)])})")
            seen.add(cur)
            cur = after.get(cur)


def _chain(after: dict[str, str], start: str) -> list[str]:
    out, cur = [], after.get(start)
    while cur is not None and cur not in out and cur != start:
        out.append(cur)
        cur = after.get(cur)
    return out + ([cur] if cur is not None else [])
