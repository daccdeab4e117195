-- One database per app: each service owns its data (the gateway too).
CREATE DATABASE gateway;
CREATE DATABASE dossier;
CREATE DATABASE documents;
CREATE DATABASE reporting;
CREATE DATABASE national;
