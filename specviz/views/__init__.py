"""Everything that shows a trace and reads only traces and cost models: text replay,
terminal, matplotlib and plotly figures, the offline HTML page. Never imports torch."""
