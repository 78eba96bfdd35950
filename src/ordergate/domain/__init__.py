"""Values and entities: what a signal, an instrument, an order, a fill and a position are."""
