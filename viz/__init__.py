"""Drawing: bird's-eye video of a world and preview images of sensor measurements."""
