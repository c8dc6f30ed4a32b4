"""Running a diagnosis: in memory, streamed, or across worker processes, with findings
spilled to disk and the summary they add up to."""
