"""The organizations service (党组织): organisations, members, transfers, 双报到, units, joint meetings."""
