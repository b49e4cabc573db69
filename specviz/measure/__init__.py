"""Measuring runs: K sweeps, acceptance by kind of token, pass costs and cost models
(textbook, roofline, measured), device presets, timings, the notebooks' prompts."""
