"""REST API of agents and their runs. Thin: parse, call agents.configuration / runs, shape."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import configuration, runs, selectors
from agents.api import serializers as s
from agents.filters import RunFilter
from agents.models import Agent
from audit import trail
from core.api.pagination import CursorPagination
from core.api.permissions import IsOrganizationCaller, IsOrganizationManager
from core.errors import NotFound
from portal.requests import api_caller


class NewestFirst(CursorPagination):
    ordering = "-created_at"


def _org(request: Request):
    return api_caller(request).organization


class ManagersWrite(IsOrganizationManager):
    """Everyone in the organization reads agents; owners/admins and API keys change them."""

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return IsOrganizationCaller.has_permission(self, request, view)
        return super().has_permission(request, view)


class AgentListView(generics.ListAPIView):
    permission_classes = [ManagersWrite]
    serializer_class = s.AgentSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        return Agent.objects.for_org(_org(self.request))

    @extend_schema(summary="List agents")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create an agent", request=s.AgentSerializer, responses={201: s.AgentSerializer}
    )
    def post(self, request):
        serializer = s.AgentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("clear_api_key", None)
        agent = configuration.create_agent(
            org=_org(request), created_by=api_caller(request).user, request=request, **data
        )
        return Response(s.AgentSerializer(agent).data, status=status.HTTP_201_CREATED)


class AgentDetailView(APIView):
    permission_classes = [ManagersWrite]

    @extend_schema(summary="Get an agent", responses=s.AgentSerializer)
    def get(self, request, agent_id):
        return Response(s.AgentSerializer(configuration.get_agent(_org(request), agent_id)).data)

    @extend_schema(
        summary="Update an agent", request=s.AgentSerializer, responses=s.AgentSerializer
    )
    def patch(self, request, agent_id):
        agent = configuration.get_agent(_org(request), agent_id)
        serializer = s.AgentSerializer(agent, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        agent = configuration.update_agent(
            agent=agent, request=request, **serializer.validated_data
        )
        return Response(s.AgentSerializer(agent).data)

    @extend_schema(summary="Delete an agent and its runs", responses={204: None})
    def delete(self, request, agent_id):
        configuration.delete_agent(
            agent=configuration.get_agent(_org(request), agent_id), request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class StartRunView(APIView):
    @extend_schema(
        summary="Run an agent as the caller (sessions) or as the named identifier (API keys)",
        request=s.StartRunSerializer,
        responses={202: s.AgentRunSerializer},
    )
    def post(self, request, agent_id):
        agent = configuration.get_agent(_org(request), agent_id)
        serializer = s.StartRunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = runs.start_run(
            agent=agent,
            prompt=data["prompt"],
            caller=api_caller(request).acting_as(data.get("identifier")),
            request=request,
        )
        run.refresh_from_db()  # the immediate task backend may already have finished it
        return Response(s.AgentRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


def _run(request: Request, run_id):
    run = selectors.find_run(caller=api_caller(request), run_id=run_id)
    if run is None:
        raise NotFound("No such run.", code="run_not_found")
    return run


class RunListView(generics.ListAPIView):
    serializer_class = s.AgentRunSummarySerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        visible = selectors.runs_visible_to(caller=api_caller(self.request))
        return RunFilter(self.request.query_params, queryset=visible).narrowed

    @extend_schema(
        summary="List agent runs (API keys and admins: the organization's; members: their own)",
        parameters=RunFilter.parameters(),
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RunDetailView(APIView):
    @extend_schema(summary="Get a run with its steps", responses=s.AgentRunSerializer)
    def get(self, request, run_id):
        return Response(s.AgentRunSerializer(_run(request, run_id)).data)


class RunDecisionView(APIView):
    approve = True

    @extend_schema(request=s.RunDecisionSerializer, responses=s.AgentRunSerializer)
    def post(self, request, run_id):
        run = _run(request, run_id)
        runs.check_may_decide(run, caller=api_caller(request))
        serializer = s.RunDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        runs.decide(
            run=run,
            approve=self.approve,
            tool_call_id=serializer.validated_data["tool_call_id"],
            fingerprint=serializer.validated_data["fingerprint"],
            decided_by=trail.Actor.of(api_caller(request)),
            request=request,
        )
        return Response(s.AgentRunSerializer(_run(request, run_id)).data)


@extend_schema(summary="Approve the tool call a run waits on; the run resumes")
class ApproveRunView(RunDecisionView):
    approve = True


@extend_schema(summary="Reject the tool call a run waits on; the model is told and continues")
class RejectRunView(RunDecisionView):
    approve = False
