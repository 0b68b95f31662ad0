"""edoc-axis: the national electronic document exchange axis (edXML router)."""

__version__ = "0.1.0"
