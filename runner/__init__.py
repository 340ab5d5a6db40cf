"""The run loop: a scenario simulated to an output folder (summary, trajectory, video, previews)."""
