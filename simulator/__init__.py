"""The world: HD map, vehicles, traffic, scene (ray casting, collisions) and the World."""
