from tests.factories import World


def test_world_is_built_through_actions(world: World) -> None:
    assert world.agent.unit == world.sales_team
    assert world.sales_team.path.startswith(world.sales.path)
    assert len(world.users) == 6
