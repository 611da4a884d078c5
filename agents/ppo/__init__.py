"""The PPO agent (stable-baselines3) with a Transformer policy: slates without repeats, scored from public features."""

from freshrec.agents.ppo.algorithm import ClickRolloutBuffer, FreshRecPPO, slate_choice_loss
from freshrec.agents.ppo.distribution import PlackettLuceDistribution
from freshrec.agents.ppo.networks import MLPExtractor, TransformerExtractor
from freshrec.agents.ppo.policy import FreshRecMLPPolicy, FreshRecSlatePolicy, FreshRecTransformerPolicy

__all__ = [
    "ClickRolloutBuffer",
    "FreshRecMLPPolicy",
    "FreshRecPPO",
    "FreshRecSlatePolicy",
    "FreshRecTransformerPolicy",
    "MLPExtractor",
    "PlackettLuceDistribution",
    "TransformerExtractor",
    "slate_choice_loss",
]
