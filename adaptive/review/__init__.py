"""Review: plotly figures of an experiment (``plots``), the offline HTML report built from
them (``report``), and their static-image fallback for renderers without JavaScript."""
