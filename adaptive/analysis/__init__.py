"""Analysis of observed and modelled outcomes: frames, Pareto frontiers."""

from adaptive.analysis.frames import frontier_flags, observed_frontier, trials_frame
from adaptive.analysis.pareto import pareto_mask

__all__ = ["frontier_flags", "observed_frontier", "pareto_mask", "trials_frame"]
