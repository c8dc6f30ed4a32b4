"""Views of results: text, tables (DataFrames), ladders, charts and the HTML/JSON report."""
