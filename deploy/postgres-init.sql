-- One database per service: services never read each other's tables.
CREATE DATABASE gateway;
CREATE DATABASE ingest;
CREATE DATABASE review;
CREATE DATABASE distribute;
CREATE DATABASE interaction;
