"""Venue adapters: every venue behind one async interface (see `base.VenueAdapter`)."""
