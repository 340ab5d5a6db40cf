"""Builds the HD map of a scenario's ``map:`` from its source: the procedural roads and
intersections, or an OpenDRIVE file (``map.opendrive``)."""

from __future__ import annotations

import logging

from scenarios.schema import MapConfig
from simulator.map.hdmap import HDMap
from simulator.map.markings import build_markings
from simulator.map.procedural.network import build_network

log = logging.getLogger(__name__)


def build_hdmap(map_config: MapConfig) -> HDMap:
    """Build lanes, topology, conflicts and markings from the scenario's map."""
    if map_config.opendrive is not None:
        from simulator.map.opendrive.build import build_opendrive_hdmap
        return build_opendrive_hdmap(map_config)
    net = build_network(map_config)
    markings = build_markings(net.carriageways)
    log.info("HD map: %d lanes, %d conflicts, %d markings", len(net.lanes),
             len(net.conflicts), len(markings))
    return HDMap(net.lanes, net.conflicts, markings, net.edges, net.carriageways,
                 net.junctions, map_config.ground_size_m)
