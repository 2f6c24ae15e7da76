"""A stable-baselines3 SAC policy around the RLMiniStyler networks.

SB3's :class:`~stable_baselines3.sac.SAC` runs unchanged; this module only supplies the
networks it calls through its policy interface:

* :class:`LatentActor` -- SB3's ``policy.actor``: the release's unified actor
  (:class:`agents.networks.Actor`). The action is the latent ``64 x H/4 x W/4`` drawn from
  ``Normal(mean, scale=exp(logvar))`` as in the release (no tanh squashing).
* :class:`LatentCritic` -- SB3's ``policy.critic`` / ``critic_target``: the
  :class:`agents.networks.TwinCritic`, which sees the moving image, the style image and the
  latent action.
* :class:`StylePolicy` -- SB3's ``SACPolicy`` holding both, plus the :class:`~agents.networks.Builder`
  (latent -> next image; shared with :class:`agents.sac.wrapper.LatentActionWrapper`), the
  learned uncertainty weights ``p`` of the generative losses, and the optimizer of the
  generative update (:class:`agents.sac.callbacks.GenerativeCallback`).

Action units
------------
SB3 keeps off-policy actions in a "scaled" space (what the policy outputs, what the replay
buffer stores, what the critic sees) and maps them to the env's ``[low, high]`` with
``unscale_action``. The latent Box is ``[-bound, bound]``; the actor outputs ``latent / bound``
and the critic multiplies by ``bound`` again, so both networks work on the raw latent while
SB3 keeps its convention. The latent is never clipped: ``squash_output=True`` only tells SB3
to unscale instead of clipping in ``predict``. The bound is the range of SB3's uniform warm-up
actions (the released actor's means lie within about +-1.6).

Entropy scaling
---------------
The latent has ``64 * H/4 * W/4`` dimensions (262,144 at 256 px). A log-density summed over
them is ``O(10^5 .. 10^6)`` while the soft-Q values are ``O(1 .. 100)`` (rewards are minus a
style loss of order 1-10), so with a summed log-prob the entropy term would swamp the Q term
and the learned temperature would have to fall by ~10^-5 -- hundreds of thousands of Adam steps
of ``log_ent_coef`` -- before the critic matters. :meth:`LatentActor.action_log_prob` therefore
returns the **mean** per-dimension log-density, and the SAC ``target_entropy`` is given **per
dimension** (:data:`DEFAULT_TARGET_ENTROPY`). This is the summed objective divided by the
constant ``D`` (equivalently, the temperature rescaled by ``1/D``), so the optimum is unchanged,
the entropy term is ``O(1)`` like the Q term, and it stays the same size at every image size.
The per-dimension entropy of ``Normal(m, exp(logvar))`` is ``0.5 * log(2 pi e) + logvar``;
the default target -4 corresponds to ``logvar ~ -5.4``, a noise scale of ~0.5 % of the latent's
unit-scale values, which is where the released actor sits (mean logvar -5.7 on real images).
"""

from __future__ import annotations

from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel, BasePolicy
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from stable_baselines3.sac.policies import SACPolicy

from agents.networks import Actor, Builder, TwinCritic, log_density, sample_action
from styleenv.pixels import chw_uint8_to_tensor

#: Default per-dimension target entropy (see the module docstring).
DEFAULT_TARGET_ENTROPY = -4.0


def obs_images(obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
    """The moving and style images of an observation as floats in [0, 1].

    :param obs: ``{"moving": (N, 3, H, W), "style": (N, 3, H, W)}``, uint8 (or float in [0, 1])
    :return: ``(moving, style)``, float32 ``(N, 3, H, W)``
    """
    out = []
    for key in ("moving", "style"):
        x = obs[key]
        out.append(chw_uint8_to_tensor(x) if x.dtype == th.uint8 else x.float())
    return out[0], out[1]


def per_dim_log_prob(action: th.Tensor, mean: th.Tensor, logvar: th.Tensor) -> th.Tensor:
    """Mean over dimensions of the log-density of ``Normal(mean, scale=exp(logvar))``.

    :param action: ``(N, 64, h, w)`` raw latent
    :param mean: same shape
    :param logvar: same shape
    :return: ``(N,)``
    """
    return log_density(action, mean, logvar).flatten(1).mean(dim=1)


class DelayedAdam(th.optim.Adam):
    """Adam that applies only every ``every``-th :meth:`step`, at ``lr * lr_scale``.

    SB3's SAC steps the actor optimizer on every gradient step and resets every optimizer's
    learning rate to the algorithm's schedule before ``train()``; the release updates the
    actor by its SAC loss every 4th update at a tenth of the critic's rate. The call counter and
    both settings live in the param groups, so they are saved and restored with the state dict.

    :param params: parameters
    :param every: apply one step in this many calls
    :param lr_scale: factor on the (schedule-set) learning rate when a step is applied
    :param kwargs: passed to :class:`torch.optim.Adam`
    """

    def __init__(self, params: Any, every: int = 4, lr_scale: float = 0.1, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        for group in self.param_groups:
            group.setdefault("every", int(every))
            group.setdefault("lr_scale", float(lr_scale))
            group.setdefault("calls", 0)

    @th.no_grad()
    def step(self, closure: Any = None) -> Any:
        group0 = self.param_groups[0]
        group0["calls"] += 1
        if (group0["calls"] - 1) % group0["every"] != 0:
            return None
        saved = [g["lr"] for g in self.param_groups]
        for g in self.param_groups:
            g["lr"] = g["lr"] * g["lr_scale"]
        try:
            return super().step(closure)
        finally:
            for g, lr in zip(self.param_groups, saved):
                g["lr"] = lr


class LatentActor(BasePolicy):
    """SB3 actor wrapping the release's unified actor; action = latent / ``bound``.

    :param observation_space: ``Dict(moving, style)`` of uint8 images
    :param action_space: the latent Box ``(64, H/4, W/4)`` in ``[-bound, bound]``
    """

    action_space: spaces.Box

    def __init__(self, observation_space: spaces.Dict, action_space: spaces.Box) -> None:
        super().__init__(observation_space, action_space, squash_output=True)
        self.net = Actor()
        self.bound = float(action_space.high.flat[0])

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return dict(observation_space=self.observation_space, action_space=self.action_space)

    def distribution(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        """``(mean, logvar)`` of the raw latent, each ``(N, 64, H/4, W/4)``.

        :param obs: ``{"moving", "style"}`` image batches (see :func:`obs_images`)
        """
        moving, _ = obs_images(obs)
        # the head reads the moving image only; the style enters through the builder
        return self.net.head(self.net.encoder.content(moving))

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        if deterministic:
            moving, _ = obs_images(obs)
            return self.net.mean_action(moving) / self.bound
        mean, logvar = self.distribution(obs)
        return sample_action(mean, logvar) / self.bound

    def action_log_prob(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor]:
        """A reparameterised action (scaled units) and its per-dimension mean log-density.

        :param obs: ``{"moving", "style"}`` image batches (see :func:`obs_images`)
        :return: ``(action (N, 64, h, w), log_prob (N,))``
        """
        mean, logvar = self.distribution(obs)
        latent = sample_action(mean, logvar)
        return latent / self.bound, per_dim_log_prob(latent, mean, logvar)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self(observation, deterministic)


class LatentCritic(BaseModel):
    """SB3 critic wrapping :class:`agents.networks.TwinCritic` (sees moving, style and latent).

    :param observation_space: ``Dict(moving, style)``
    :param action_space: the latent Box
    :param hidden: width of each Q network's MLP
    """

    def __init__(self, observation_space: spaces.Dict, action_space: spaces.Box, hidden: int = 64) -> None:
        super().__init__(observation_space, action_space)
        self.net = TwinCritic(action_channels=action_space.shape[0], hidden=hidden)
        self.bound = float(action_space.high.flat[0])

    def forward(self, obs: PyTorchObs, actions: th.Tensor) -> tuple[th.Tensor, ...]:
        """The twin Q values of actions.

        :param obs: ``{"moving", "style"}`` image batches (see :func:`obs_images`)
        :param actions: scaled latent ``(N, 64, h, w)`` (or flattened)
        :return: ``(q1, q2)``, each ``(N, 1)``
        """
        moving, style = obs_images(obs)
        latent = actions.float().reshape(actions.shape[0], *self.action_space.shape) * self.bound
        return self.net(moving, style, latent)

    def q1_forward(self, obs: PyTorchObs, actions: th.Tensor) -> th.Tensor:
        return self(obs, actions)[0]


class StylePolicy(SACPolicy):
    """SAC policy of RLMiniStyler: latent actor, twin critic, builder and generative state.

    :param observation_space: ``Dict(moving, style)``
    :param action_space: the latent Box ``(64, H/4, W/4)``
    :param lr_schedule: SB3's schedule (critic, entropy temperature; the actor gets a fraction)
    :param actor_lr_scale: SAC actor learning rate as a fraction of the schedule (0.1: 2e-5)
    :param actor_update_every: the SAC actor loss is applied every this many updates (4)
    :param generative_lr: learning rate of the generative update (actor, builder, ``p``)
    :param loss_weight_lr: learning rate of ``p`` alone (0: ``generative_lr``, as the release)
    :param critic_hidden: MLP width of each Q network
    :param optimizer_kwargs: Adam keyword arguments (``betas=(0.5, 0.9)`` for the release)
    :param use_sde: passed by SB3; must be False
    """

    actor: LatentActor
    critic: LatentCritic
    critic_target: LatentCritic

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        actor_lr_scale: float = 0.1,
        actor_update_every: int = 4,
        generative_lr: float = 2e-4,
        loss_weight_lr: float = 0.0,
        critic_hidden: int = 64,
        optimizer_kwargs: dict[str, Any] | None = None,
        use_sde: bool = False,
    ) -> None:
        if use_sde:
            raise ValueError("StylePolicy has no gSDE: its exploration is the release's Gaussian latent")
        BasePolicy.__init__(
            self,
            observation_space,
            action_space,
            optimizer_class=th.optim.Adam,
            optimizer_kwargs=optimizer_kwargs,
            squash_output=True,
            normalize_images=False,
        )
        self.actor_lr_scale = actor_lr_scale
        self.actor_update_every = actor_update_every
        self.generative_lr = generative_lr
        self.loss_weight_lr = loss_weight_lr
        self.critic_hidden = critic_hidden
        self._build(lr_schedule)

    def _build(self, lr_schedule: Schedule) -> None:
        self.actor = self.make_actor()
        self.actor.optimizer = DelayedAdam(
            self.actor.parameters(),
            every=self.actor_update_every,
            lr_scale=self.actor_lr_scale,
            lr=lr_schedule(1),
            **self.optimizer_kwargs,
        )
        self.critic = self.make_critic()
        self.critic.optimizer = self.optimizer_class(self.critic.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)
        self.critic_target = self.make_critic()
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.set_training_mode(False)
        self.critic_target.requires_grad_(False)

        self.builder = Builder().to(self.device)
        # learned uncertainties of (content, style, contrastive), initialised to 1
        self.loss_weights = th.nn.Parameter(th.ones(3, device=self.device))
        networks = [*self.actor.net.parameters(), *self.builder.parameters()]
        if self.loss_weight_lr > 0:  # two groups: p on its own rate
            groups = [{"params": networks}, {"params": [self.loss_weights], "lr": self.loss_weight_lr}]
        else:  # one group, as the release (and the optimizer state of earlier runs)
            groups = [{"params": [*networks, self.loss_weights]}]
        self.generative_optimizer = self.optimizer_class(groups, lr=self.generative_lr, **self.optimizer_kwargs)

    def make_actor(self, features_extractor: Any = None) -> LatentActor:
        """A new :class:`LatentActor` on the policy's device.

        :param features_extractor: unused: kept for SB3's signature (the actor encodes its own images)
        """
        return LatentActor(self.observation_space, self.action_space).to(self.device)

    def make_critic(self, features_extractor: Any = None) -> LatentCritic:
        """A new :class:`LatentCritic` on the policy's device.

        :param features_extractor: unused: kept for SB3's signature (the critic encodes its own images)
        """
        return LatentCritic(self.observation_space, self.action_space, hidden=self.critic_hidden).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = BasePolicy._get_constructor_parameters(self)
        data.pop("normalize_images", None)
        data.update(
            lr_schedule=self._dummy_schedule,
            actor_lr_scale=self.actor_lr_scale,
            actor_update_every=self.actor_update_every,
            generative_lr=self.generative_lr,
            loss_weight_lr=self.loss_weight_lr,
            critic_hidden=self.critic_hidden,
            optimizer_kwargs=self.optimizer_kwargs,
        )
        return data

    def reset_noise(self, batch_size: int = 1) -> None:  # no gSDE
        pass

    @property
    def networks(self) -> tuple[Actor, Builder]:
        """The release's two networks ``(actor, builder)`` (what a stylizer needs)."""
        return self.actor.net, self.builder
