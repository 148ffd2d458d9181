"""Foundation endpoints: the caller's organization and its members."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import selectors
from portal.api.serializers import MemberSerializer, OrganizationSerializer
from portal.requests import api_caller


class OrganizationView(APIView):
    @extend_schema(responses=OrganizationSerializer, summary="The caller's organization")
    def get(self, request):
        return Response(OrganizationSerializer(api_caller(request).organization).data)


class MemberListView(generics.ListAPIView):
    serializer_class = MemberSerializer

    @extend_schema(summary="Members of the caller's organization")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.members_of(organization=api_caller(self.request).organization)
