"""Reports: rollups kept current as data arrives."""
