"""Features extractors that read the observation as tokens: a Transformer (default) and an MLP ablation.

Both return per-candidate embeddings and one summary embedding, (B, 1 + M, d): row 0 summarises the
user (history, skipped items, context), rows 1..M are the candidates in observation order. The
policy scores candidates from rows 1..M and reads the value from row 0 and the candidates' mean.
Candidates are described by public features only (text projection, age, popularity), so a
brand-new item is scored from its text at once; there are no item-id embeddings. With
``match_features=True`` (off by default) each candidate token also gets how its text matches the
user's clicks and skips (``text_match``), the affinity LinUCB's context is built on. With
``topic_embeddings=True`` (off by default) every token also gets a learned embedding of its item's
topic, a public category that a new item has from its first tick (``*_topics``). With
``topic_match=True`` (off by default) each candidate token also gets how its topic matches the user's
clicks and skips (``topic_match_columns``). With
``reveal_relevance=True`` (a diagnostic, off by default) each candidate token also gets the hidden
truth ``candidate_relevance`` that the envs reveal on request (``reveal_relevance=True``): what the
myopic oracle knows, so a policy trained with it shows how much of PPO's gap to the oracle is
information and how much is learning.

Observation keys read (flattened token arrays, see ``freshrec.envs.observation``):
``candidate_features`` (B, M*F), ``history_features`` (B, H*F), ``history_mask`` (B, H),
``skipped_features`` (B, Q*F), ``skipped_mask`` (B, Q), ``context`` (B, 4); with topic embeddings
or topic match also ``candidate_topics`` (B, M), ``history_topics`` (B, H) and ``skipped_topics`` (B, Q) (-1 = padding);
with revealed relevance also ``candidate_relevance`` (B, M).
"""

from __future__ import annotations

import math

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from freshrec.agents.ppo.layers import CrossBlock, DecoderBlock, Encoder, EncoderBlock

TOKEN_KEYS = ("candidate", "history", "skipped")


def token_shapes(observation_space: spaces.Dict) -> tuple[int, int, int, int, int]:
    """(M, H, Q, F, C): candidates, history and skipped lengths, features per token, context width."""

    def width(key: str) -> int:
        if key not in observation_space.spaces:
            raise ValueError(f"observation space lacks key {key!r}: expected a freshrec observation (FreshRecEnv)")
        shape = observation_space[key].shape
        assert shape is not None
        return int(shape[0])

    m, h, q, c = width("candidate_mask"), width("history_mask"), width("skipped_mask"), width("context")
    return m, h, q, width("candidate_features") // m, c


def topic_count(observation_space: spaces.Dict) -> int:
    """T, the world's number of topics: ``candidate_topics`` takes values 0..T-1."""
    box = observation_space.spaces.get("candidate_topics")
    if not isinstance(box, spaces.Box):
        raise ValueError(
            "topic_embeddings=True: the observation space lacks 'candidate_topics' (a freshrec observation)"
        )
    return int(box.high.max()) + 1


def check_relevance(observation_space: spaces.Dict) -> None:
    """``reveal_relevance=True`` needs the hidden ``candidate_relevance`` in the observation space."""
    if "candidate_relevance" not in observation_space.spaces:
        raise ValueError(
            "reveal_relevance=True: the observation space lacks 'candidate_relevance' "
            "(build the env with reveal_relevance=True)"
        )


RELEVANCE_FLOOR = 1e-3
"""``relevance_columns``' log floor: solo click probabilities here run from ~3e-4 to ~0.9 (median 0.03)."""


def relevance_columns(relevance: torch.Tensor) -> torch.Tensor:
    """(B, M) click probabilities -> (B, M, 2): ``[p, log(p + floor)]``, the log spreading the many small ones."""
    return torch.stack([relevance, torch.log(relevance + RELEVANCE_FLOOR)], dim=-1)


def split_topics(obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The topics of candidates (B, M), history (B, H) and skipped items (B, Q); -1 marks padding."""
    return obs["candidate_topics"], obs["history_topics"], obs["skipped_topics"]


TOPIC_MATCH_COLUMNS = 4
TOPIC_RECENCY = 0.7
"""``topic_match``'s per-click decay: the newest click weighs 1, the one before 0.7, then 0.49, ..."""


def topic_match_columns(obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """How each candidate's topic matches the user's recent topics: (B, M, TOPIC_MATCH_COLUMNS).

    ``[share of the H history slots with its topic, recency-weighted count of clicks on it (TOPIC_RECENCY per
    click back), share of the Q skipped slots with its topic, 1 if the newest click had it]``, from the public
    ``*_topics`` arrays (-1 padding never matches). Why given, not left to attention: boredom is per topic, a
    user's interest starts near one, and the 16-column text tells topics apart for only 79% of texts. Tried on
    top of the CTR prior and not kept: on validation worlds PPO scored lower with them (docs/ppo-results.md,
    "Topic match").
    """
    cand, hist, skip = split_topics(obs)  # (B, M), (B, H), (B, Q); floats after SB3's preprocessing
    in_hist = (cand.unsqueeze(-1) == hist.unsqueeze(1)).to(cand.dtype)  # (B, M, H), newest click first
    in_skip = (cand.unsqueeze(-1) == skip.unsqueeze(1)).to(cand.dtype)  # (B, M, Q)
    h = hist.shape[1]
    decay = TOPIC_RECENCY ** torch.arange(h, device=cand.device, dtype=cand.dtype)  # (H,)
    cols = [in_hist.mean(-1), in_hist @ decay, in_skip.mean(-1), in_hist[..., 0]]
    return torch.stack(cols, dim=-1)


class TokenEmbedding(nn.Module):
    """Tokens (B, L, F) -> (B, L, d): one shared linear map, plus a learned embedding per kind and slot.

    The slot embedding gives history order (newest first) and candidate slot (the generator fills
    slots by source: newest, trending, then sampled); the features carry the rest. With ``topics`` = T
    > 0, a learned (T + 1, d) table adds each token's topic embedding (row 0: padding, topic -1).
    Why: boredom is per topic and a user's interest starts near one, but the 16-column text
    projection tells the 20 default topics apart for only 79% of texts (nearest topic centre).
    """

    def __init__(
        self,
        features: int,
        d_model: int,
        lengths: tuple[int, ...],
        match: bool = False,
        topics: int = 0,
        relevance: bool = False,
        topic_match: bool = False,
    ) -> None:
        super().__init__()
        self.proj = nn.Linear(features, d_model)
        self.slots = nn.ParameterList([nn.Parameter(torch.zeros(n, d_model)) for n in lengths])
        self.norm = nn.LayerNorm(d_model)
        # With ``match``: (2P + 1) ``text_match`` columns -> d, added to each candidate's embedding.
        self.match = nn.Linear(2 * (features - 3) + 1, d_model) if match else None
        self.topics: nn.Embedding | None = None
        if topics:
            # Zero-initialised like the slot embeddings, without drawing from torch's generator: the
            # initial policy is, weight for weight, the one without topics of the same seed.
            self.topics = nn.Embedding(topics + 1, d_model, _weight=torch.zeros(topics + 1, d_model))
        # With ``relevance``: a (2, d) map of ``relevance_columns`` added to each candidate's embedding, zero at
        # first (no draw from torch's generator) for the same reason. No bias: the slot embeddings have one.
        self.relevance = nn.Parameter(torch.zeros(2, d_model)) if relevance else None
        # With ``topic_match``: a (TOPIC_MATCH_COLUMNS, d) map of ``topic_match_columns`` added to each candidate's
        # embedding, zero at first (no draw from torch's generator) for the same reason.
        self.topic_match = nn.Parameter(torch.zeros(TOPIC_MATCH_COLUMNS, d_model)) if topic_match else None

    def _topic(self, x: torch.Tensor, topics: torch.Tensor | None) -> torch.Tensor:
        """x (B, L, d) plus the embeddings of topics (B, L) (floats from SB3's preprocessing; -1 = padding)."""
        if self.topics is None:
            return x
        if topics is None:
            raise ValueError("topic_embeddings=True needs the observation's *_topics arrays")
        return x + self.topics((topics + 1).long())

    def forward(self, kind: int, tokens: torch.Tensor, topics: torch.Tensor | None = None) -> torch.Tensor:
        return self.norm(self._topic(self.proj(tokens) + self.slots[kind], topics))

    def candidates(
        self,
        cand: torch.Tensor,
        hist: torch.Tensor,
        hist_pad: torch.Tensor,
        skip: torch.Tensor,
        skip_pad: torch.Tensor,
        topics: torch.Tensor | None = None,
        relevance: torch.Tensor | None = None,
        matched: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Candidate tokens (B, M, F) -> (B, M, d), kind 0, plus their match with the user when ``match`` is on,
        their revealed relevance (B, M) when ``relevance`` is and their ``topic_match_columns`` ``matched``
        (B, M, TOPIC_MATCH_COLUMNS) when ``topic_match`` is."""
        x = self.proj(cand) + self.slots[0]
        if self.match is not None:
            x = x + self.match(text_match(cand, hist, hist_pad, skip, skip_pad))
        if self.topic_match is not None:
            if matched is None:
                raise ValueError("topic_match=True needs the observation's *_topics arrays")
            x = x + matched @ self.topic_match
        if self.relevance is not None:
            if relevance is None:
                raise ValueError("reveal_relevance=True needs the observation's candidate_relevance")
            x = x + relevance_columns(relevance) @ self.relevance
        return self.norm(self._topic(x, topics))


def masked_mean(tokens: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """Mean over the unpadded tokens: (B, T, D), pad (B, T) -> (B, D); zeros when every token is padding."""
    keep = (~pad).unsqueeze(-1).to(tokens.dtype)
    return (tokens * keep).sum(1) / keep.sum(1).clamp(min=1.0)


def text_match(
    cand: torch.Tensor, hist: torch.Tensor, hist_pad: torch.Tensor, skip: torch.Tensor, skip_pad: torch.Tensor
) -> torch.Tensor:
    """How each candidate's text matches the user's: (B, M, 2P + 1), P = F - 3 text columns.

    ``[c ⊙ mean clicked text (P), c ⊙ mean skipped text (P), max over clicks of c · h (1)] * P``,
    c the candidate's text. The first block is LinUCB's personalising context (``agents/bandit.py``);
    the skipped block says what the user just passed over; the max is the nearest click, which a
    mean of drifting tastes blurs. The attention layers can learn such products themselves; given
    as inputs, a linear map reads them at once. Tried as the default and not kept: on validation
    worlds PPO scored lower with them (docs/ppo-results.md, "Match features"). Times P because text rows have
    norms below 1 over P columns, so the products are ~1/P of the features' scale. No history (or
    no skips) gives zeros.
    """
    p = cand.shape[-1] - 3
    c, h, s = cand[..., :p], hist[..., :p], skip[..., :p]  # (B, M, P), (B, H, P), (B, Q, P)

    dots = torch.bmm(c, h.transpose(1, 2)).masked_fill(hist_pad.unsqueeze(1), -math.inf)  # (B, M, H)
    nearest = dots.max(-1, keepdim=True).values  # (B, M, 1); -inf without history
    nearest = torch.where(torch.isfinite(nearest), nearest, torch.zeros_like(nearest))
    prods = [c * masked_mean(h, hist_pad).unsqueeze(1), c * masked_mean(s, skip_pad).unsqueeze(1), nearest]
    return torch.cat(prods, dim=-1) * p


def matched(embed: TokenEmbedding, obs: dict[str, torch.Tensor]) -> torch.Tensor | None:
    """``topic_match_columns`` (B, M, TOPIC_MATCH_COLUMNS) when ``embed`` reads them, else None (nothing computed)."""
    return topic_match_columns(obs) if embed.topic_match is not None else None


def split_tokens(obs: dict[str, torch.Tensor], m: int, h: int, q: int, f: int) -> tuple[torch.Tensor, ...]:
    """(cand (B, M, F), hist (B, H, F), skip (B, Q, F), hist_pad (B, H), skip_pad (B, Q), context (B, C))."""
    b = obs["candidate_features"].shape[0]
    cand = obs["candidate_features"].reshape(b, m, f)
    hist = obs["history_features"].reshape(b, h, f)
    skip = obs["skipped_features"].reshape(b, q, f)
    # log1p puts the context's counts (step, clicks) on the features' scale; its last two columns are
    # already log1p in the observation and get it twice (monotone, harmless; trained models rely on it).
    context = torch.log1p(obs["context"].clamp(min=0))
    return cand, hist, skip, obs["history_mask"] < 0.5, obs["skipped_mask"] < 0.5, context


class TransformerExtractor(BaseFeaturesExtractor):
    """A user encoder and a candidate decoder (pre-norm Transformer layers, no dropout).

    Encoder: self-attention over [summary, history (H), skipped (Q)], padding masked; the summary
    token starts from the context. Then each candidate attends to the encoded user tokens
    (``CrossBlock``); with ``candidate_self_attention=True`` a decoder layer also lets the
    candidates attend to each other; ``match_features=True`` adds a linear map of ``text_match``
    to each candidate's embedding. Output (B, 1 + M, d_model).
    Dropout is 0: PPO's probability ratio needs the same network when acting and when updating.

    The layers compute exactly PyTorch's ``TransformerEncoderLayer`` / ``TransformerDecoderLayer``
    (same parameter names and initialisation) through ``attend``, which trained PPO 1.23x faster
    here (``bench_ppo``: 2,392 against 1,941 env steps/s); ``reference_layers=True`` runs
    PyTorch's own layers instead, and either kind loads the other's weights.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        d_model: int = 32,
        layers: int = 1,
        heads: int = 1,
        ffn_mult: int = 2,
        candidate_self_attention: bool = False,
        reference_layers: bool = False,
        match_features: bool = False,
        topic_embeddings: bool = False,
        reveal_relevance: bool = False,
        topic_match: bool = False,
    ) -> None:
        m, h, q, f, c = token_shapes(observation_space)
        super().__init__(observation_space, features_dim=d_model)
        if d_model % heads:
            raise ValueError(f"d_model = {d_model}: must be a multiple of heads = {heads}")
        self.shape = (m, h, q, f)
        topics = topic_count(observation_space) if topic_embeddings else 0
        if reveal_relevance:
            check_relevance(observation_space)
        self.reveal_relevance = reveal_relevance  # reads ``candidate_relevance`` (PolicyAgent asks)
        self.embed = TokenEmbedding(
            f, d_model, (m, h, q), match_features, topics, reveal_relevance, topic_match=topic_match
        )
        self.summary = nn.Linear(c, d_model)
        ffn = ffn_mult * d_model
        self.encoder: nn.Module
        if reference_layers:
            layer = nn.TransformerEncoderLayer(d_model, heads, ffn, dropout=0.0, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        else:
            self.encoder = Encoder(EncoderBlock(d_model, heads, ffn), layers)

        def block() -> nn.Module:
            if not candidate_self_attention:
                return CrossBlock(d_model, heads, ffn, reference=reference_layers)
            if reference_layers:
                return nn.TransformerDecoderLayer(d_model, heads, ffn, dropout=0.0, batch_first=True, norm_first=True)
            return DecoderBlock(d_model, heads, ffn)

        self.decoder: nn.ModuleList = nn.ModuleList([block() for _ in range(layers)])
        self.out_norm = nn.LayerNorm(d_model)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        m, h, q, f = self.shape
        cand, hist, skip, hist_pad, skip_pad, context = split_tokens(obs, m, h, q, f)
        t_cand, t_hist, t_skip = split_topics(obs) if self.embed.topics is not None else (None, None, None)
        b = cand.shape[0]
        user = torch.cat(
            [self.summary(context).unsqueeze(1), self.embed(1, hist, t_hist), self.embed(2, skip, t_skip)], dim=1
        )  # (B, 1 + H + Q, d)
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=cand.device), hist_pad, skip_pad], dim=1)
        memory = self.encoder(user, src_key_padding_mask=pad)
        cands = self.embed.candidates(
            cand, hist, hist_pad, skip, skip_pad, t_cand, obs.get("candidate_relevance"), matched(self.embed, obs)
        )  # (B, M, d)
        # Candidates attend only to valid candidates (with candidate self-attention): a masked slot holds a
        # duplicate or filler item with real features. A row with none valid attends to all (no NaN).
        cand_pad = obs["candidate_mask"] < 0.5  # (B, M)
        cand_pad = cand_pad & ~cand_pad.all(dim=1, keepdim=True)
        for block in self.decoder:
            cands = block(cands, memory, memory_key_padding_mask=pad, tgt_key_padding_mask=cand_pad)
        return self.out_norm(torch.cat([memory[:, :1], cands], dim=1))


class MLPExtractor(BaseFeaturesExtractor):
    """The ablation: the same tokens, no attention. The user is the masked mean of history and skipped
    tokens plus the context; each candidate is an MLP of [its token, the user]. Output (B, 1 + M, d)."""

    def __init__(
        self,
        observation_space: spaces.Dict,
        d_model: int = 64,
        hidden: int = 64,
        match_features: bool = False,
        topic_embeddings: bool = False,
        reveal_relevance: bool = False,
        topic_match: bool = False,
    ) -> None:
        m, h, q, f, c = token_shapes(observation_space)
        super().__init__(observation_space, features_dim=d_model)
        self.shape = (m, h, q, f)
        topics = topic_count(observation_space) if topic_embeddings else 0
        if reveal_relevance:
            check_relevance(observation_space)
        self.reveal_relevance = reveal_relevance  # reads ``candidate_relevance`` (PolicyAgent asks)
        self.embed = TokenEmbedding(
            f, d_model, (m, h, q), match_features, topics, reveal_relevance, topic_match=topic_match
        )
        self.user = nn.Sequential(nn.Linear(2 * d_model + c, hidden), nn.ReLU(), nn.Linear(hidden, d_model))
        self.cand = nn.Sequential(nn.Linear(2 * d_model, hidden), nn.ReLU(), nn.Linear(hidden, d_model))
        self.out_norm = nn.LayerNorm(d_model)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        m, h, q, f = self.shape
        cand, hist, skip, hist_pad, skip_pad, context = split_tokens(obs, m, h, q, f)
        t_cand, t_hist, t_skip = split_topics(obs) if self.embed.topics is not None else (None, None, None)
        user = self.user(
            torch.cat(
                [
                    masked_mean(self.embed(1, hist, t_hist), hist_pad),
                    masked_mean(self.embed(2, skip, t_skip), skip_pad),
                    context,
                ],
                1,
            )
        )
        c = self.embed.candidates(
            cand, hist, hist_pad, skip, skip_pad, t_cand, obs.get("candidate_relevance"), matched(self.embed, obs)
        )
        cands = self.cand(torch.cat([c, user.unsqueeze(1).expand_as(c)], dim=2))
        return self.out_norm(torch.cat([user.unsqueeze(1), cands], dim=1))
