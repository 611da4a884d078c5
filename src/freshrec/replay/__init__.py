"""Time-ordered replay: predict each event before learning from it, to measure what timeliness is worth."""
