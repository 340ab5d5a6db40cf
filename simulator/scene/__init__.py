"""The scene: semantic classes and materials, objects and props, the ray-cast mirror, collisions."""
