"""NPCs driven by a policy (``traffic.policy`` in the scenario). Filled in below."""

from __future__ import annotations


class NpcPolicies:
    """No policy-driven NPCs (placeholder until ``traffic.policy`` lands in this file)."""

    @classmethod
    def from_scenario(cls, scenario, world, exclude=()):
        return cls()

    def reset(self, world) -> None:
        pass

    def controls(self, world) -> dict:
        return {}
