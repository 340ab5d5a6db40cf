"""Map source: chained straight/arc roads and 4-way junctions from the scenario YAML."""
