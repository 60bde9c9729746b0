"""HTTP views, one blueprint per concern. Views translate and call the core."""
